"""Least privilege, checked both ways: every DynamoDB action a function's code uses is in its template policy.

moto and DynamoDB Local never check IAM (PITFALLS), so the requests each handler makes while serving the
committed events are recorded and compared with the actions its policy grants.
"""

import json
from collections import defaultdict

import botocore.client
import pytest
from samcli.yamlhelper import yaml_parse

import app_api
import linker
import org_api
import partner_webhooks
from customer_profiles.domain import claim_schedule
from tests.support.template_tables import TEMPLATE
from tests.unit import test_partners
from tests.unit.conftest import FakeContext
from tests.unit.test_claim_schedule import at, partner_claim
from tests.unit.test_events_dir import ALL_EVENTS, load, prepare

FUNCTIONS = {
    "app-api-": (app_api, "AppApiFunction"),
    "org-api-": (org_api, "OrgApiFunction"),
    "partner-webhooks-": (partner_webhooks, "PartnerWebhooksFunction"),
    "linker-": (linker, "LinkerFunction"),
}
NO_DATA_ACCESS = {"linker-user-registered.json", "linker-claim-created.json"}  # they only publish events
TRANSACTION_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}


def granted_actions(logical_id: str) -> set[str]:
    resource = yaml_parse(TEMPLATE.read_text())["Resources"][logical_id]
    actions: set[str] = set()
    for policy in resource["Properties"].get("Policies", []):
        for statement in policy.get("Statement", []) if isinstance(policy, dict) else []:
            listed = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            actions |= {a.split(":", 1)[1] for a in listed if a.startswith("dynamodb:")}
    return actions


@pytest.fixture
def used_actions(monkeypatch):
    used: dict[str, set[str]] = defaultdict(set)
    original = botocore.client.BaseClient._make_api_call

    def record(client, operation, params):
        if client.meta.service_model.service_name == "dynamodb":
            if operation == "TransactWriteItems":
                for item in params["TransactItems"]:
                    used["current"].update(TRANSACTION_ACTIONS[kind] for kind in item)
            else:
                used["current"].add(operation)
        return original(client, operation, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", record)
    return used


@pytest.mark.usefixtures("reset_handler_caches")
@pytest.mark.parametrize("name", [n for n in ALL_EVENTS if not n.startswith("authorizer")])
def test_each_function_uses_only_what_its_policy_grants(name, store, used_actions):
    module, logical_id = next(v for prefix, v in FUNCTIONS.items() if name.startswith(prefix))
    event = load(name)
    prepare(name, event, store)
    used_actions.clear()

    module.handler(event, FakeContext())

    if name not in NO_DATA_ACCESS:
        assert used_actions["current"], "the handler made no DynamoDB request: nothing was checked"
    assert used_actions["current"] <= granted_actions(logical_id), json.dumps(sorted(used_actions["current"]))


def test_the_authorizer_reads_only_a_staff_subjects_memberships_and_a_users_id(
    store, used_actions, tmp_path, monkeypatch
):
    from tests.unit.test_authorizer import authorizer, authorizer_event, configure

    idp = configure(tmp_path, monkeypatch)
    used_actions.clear()

    authorizer.handler(authorizer_event(idp.token("bob", aud="staff-console")), FakeContext())
    staff = set(used_actions["current"])
    used_actions.clear()
    authorizer.handler(authorizer_event(idp.token("ann", aud="consumer-app")), FakeContext())

    assert (staff, used_actions["current"]) == ({"Query"}, {"GetItem"})
    assert granted_actions("AuthorizerFunction") == {"Query", "GetItem"}


secret = test_partners.secret  # the partner and its signing secret, as a fixture


@pytest.mark.usefixtures("reset_handler_caches")
def test_the_linkers_schedule_reminding_and_expiring_claims_uses_only_what_its_policy_grants(
    store, secret, used_actions
):
    # Given a claim due for its reminder (it expires within 48 hours)
    claim, _ = partner_claim(store, secret, days=1)
    used_actions.clear()

    # When the linker's schedule runs, and its claim schedule runs again once the claim has expired
    answer = linker.handler({"source": "aws.events", "detail-type": "Scheduled Event"}, FakeContext())
    later = claim_schedule.run(store, at(claim.expires_at, 1))

    # Then it reminded and expired the claim with only the actions the linker's policy grants
    assert (answer["claims"]["reminded"], later.expired) == (1, [claim.claim_id])
    assert {"Query", "BatchGetItem", "UpdateItem", "PutItem", "DeleteItem"} <= used_actions["current"]
    assert used_actions["current"] <= granted_actions("LinkerFunction"), sorted(used_actions["current"])
