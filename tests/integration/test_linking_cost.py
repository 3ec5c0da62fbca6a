"""What an activation costs, counted on DynamoDB Local (moto copies its whole table for every transaction, so
a thousand tickets are out of its reach): a person whose dormant holders (one for their email, one for their
phone) carry 1,000 window tickets across 5 orgs signs up verifying both; the sign-up and every pending effect
it leaves, run as the linker runs them from the stream, take at most 1,000/40 + 50 requests. The activity
trail (a PutItem per profile change the stream carries) is written beside the effects and is not counted
(docs/decisions.md, linking costs). `make bench` prints the same figure."""

from pathlib import Path

import pytest

from tests.support.activation import ORGS, activation_of_1000_tickets
from tests.support.template_tables import dynamodb_local_store

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
TABLES = {"ProfilesTable": "cost-profiles", "IdempotencyTable": "cost-idempotency"}


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    with dynamodb_local_store(ROOT, TABLES, tmp_path_factory.mktemp("ddb") / "ddb.log") as store:
        yield store


def test_an_activation_bringing_1000_tickets_across_5_orgs_takes_at_most_75_requests(store):
    counted = activation_of_1000_tickets(store)

    assert sum(counted.values()) <= 1000 // 40 + 50, counted
    assert counted["TransactWriteItems"] <= 1000 // 40 + 3 * len(ORGS) + 1, counted  # moves in 50s, not one by one
    assert store.all_pending() == []
