"""The linker's cost is O(k) in the profiles it links, whatever the table's size (DynamoDB Local)."""

import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from customer_profiles.domain.effects import effects
from customer_profiles.domain.identity import users
from customer_profiles.domain.sales import pos
from customer_profiles.domain.staff import memberships
from customer_profiles.models.api import PosSaleRequest
from customer_profiles.models.principal import Principal
from tests.support.template_tables import dynamodb_local_store

# its module fixtures are made once: with `--dist loadgroup` (make test) the file's tests share a worker
pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("test_linking_scale")]
ROOT = Path(__file__).resolve().parents[2]
TABLES = {"ProfilesTable": "scale-profiles", "IdempotencyTable": "scale-idempotency"}


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    # Its own DynamoDB Local: no stream poller reading the 50,000 filler items.
    with dynamodb_local_store(ROOT, TABLES, tmp_path_factory.mktemp("ddb") / "ddb.log") as store:
        yield store


def fill_to(store, total):
    """Unrelated customers' items: users, profiles and history rows on the same indexes."""

    def write(chunk):
        with store.db.table.batch_writer() as batch:
            for n in chunk:
                batch.put_item(
                    Item={
                        "pk": f"ORG#filler#PROFILE#{n}",
                        "sk": "PROFILE",
                        "type": "profile",
                        "gsi1pk": f"USER#filler{n % 997}",
                        "gsi1sk": f"PROFILE#ORG#filler{n}",
                        "gsi2pk": f"ORG#filler#PROFILES#{n % 4}",
                        "gsi2sk": f"{n:08d}",
                    }
                )

    already = store.db.table.scan(Select="COUNT")["Count"]  # a test helper, not a request path
    numbers = list(range(already, total))
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(write, [numbers[i::4] for i in range(4)]))


def link_request_count(store, k=3):
    tag = uuid.uuid4().hex[:6]
    principal = Principal(kind="user", subject=f"person-{tag}", client_id="app")
    users.register_me(store, principal)
    sale = PosSaleRequest.model_validate(
        {
            "currency": "EUR",
            "payment_method": "cash",
            "customer": {"email": f"k-{tag}@example.com"},
            "lines": [{"kind": "ticket", "item_id": "ev", "quantity": 2, "unit_price": 1}],
        }
    )
    for n in range(k):
        org_id = f"org-{n}-{tag}"
        memberships.grant(store, org_id, "till", ["pos"])
        pos.create_pos_sale(
            store,
            Principal(kind="staff", subject="till", client_id="staff", memberships={org_id: frozenset({"pos"})}),
            org_id,
            sale,
        )
    users.register_me(
        store,
        Principal(
            kind="user", subject=principal.subject, client_id="app", email=f"k-{tag}@example.com", email_verified=True
        ),
    )
    counter: Counter[str] = Counter()

    def count(model, **_):
        counter.update([model.name])

    person = users.current_user_id(store, principal)
    (link,) = [e for e in store.all_pending() if e.kind == "link_user" and e.cause["to_user_id"] == person]
    store.db.client.meta.events.register("before-call.dynamodb.*", count)
    try:
        assert effects.complete(store, link, lambda events: None)
    finally:
        store.db.client.meta.events.unregister("before-call.dynamodb.*", count)
    assert len(store.all_profiles_of_user(users.current_user_id(store, principal))) == k
    return counter


def test_linking_costs_the_same_requests_whatever_the_table_size(store):
    fill_to(store, 1_000)
    small = link_request_count(store)
    fill_to(store, 50_000)
    large = link_request_count(store)

    assert small == large
    assert "Scan" not in small
    # the effect: its consistent read, both users (one BatchGetItem), the merged user's profiles (a Query on its
    # partition and a BatchGetItem), the person's in those orgs (a BatchGetItem of user-in-org items: none),
    # the final check that nothing is left (a Query), the effect's delete; per profile (k = 3): the move
    # transaction (its children follow in the re-key it leaves)
    assert sum(small.values()) == 7 + 3
