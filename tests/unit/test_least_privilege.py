"""Least privilege: every DynamoDB action and every secret a function's code uses is in its template policy,
and a function is granted exactly the secrets its code requires.

moto and DynamoDB Local never check IAM (PITFALLS), so the requests each handler makes while serving the
committed events are recorded and compared with the actions and secrets its policy grants.
"""

import dataclasses
import inspect
import json
import re
from collections import defaultdict
from typing import Any

import boto3
import botocore.client
import pytest
from aws_lambda_powertools.utilities import parameters
from samcli.yamlhelper import yaml_parse

import app_api
import authorizer
import linker
import org_api
import partner_webhooks
from customer_profiles.domain.claims import claim_schedule
from customer_profiles.edge import config
from customer_profiles.edge import secrets as secret_store
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


# The secrets read from Secrets Manager in these tests (partners' stay in the local file the events are signed
# with), by the template resource whose ARN the function's environment names.
SECRETS = {
    "ClaimTokenKey": ("CLAIM_TOKEN_KEY_SECRET", "LOCAL_CLAIM_TOKEN_KEY_FILE", "customer-profiles/test/claim-token-key"),
    "ReceiptCodeKeys": (
        "RECEIPT_CODE_KEYS_SECRET",
        "LOCAL_RECEIPT_CODE_KEYS_FILE",
        "customer-profiles/test/receipt-code-keys",
    ),
}
PARTNER_SECRETS = "partners/*"  # the partners' secrets, by name prefix (PARTNER_SECRETS_PREFIX)
SECRET_IDS = {name: logical_id for logical_id, (_, _, name) in SECRETS.items()}


def template_function(logical_id: str) -> dict[str, Any]:
    return yaml_parse(TEMPLATE.read_text())["Resources"][logical_id]["Properties"]


def granted_secrets(logical_id: str) -> set[str]:
    """The secrets a function's policies let it read: a template resource's logical id, or the partners'."""
    granted: set[str] = set()
    for policy in template_function(logical_id).get("Policies", []):
        if isinstance(policy, dict) and "AWSSecretsManagerGetSecretValuePolicy" in policy:
            granted.add(policy["AWSSecretsManagerGetSecretValuePolicy"]["SecretArn"]["Ref"])
        for statement in policy.get("Statement", []) if isinstance(policy, dict) else []:
            listed = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            if "secretsmanager:GetSecretValue" in listed:
                for resource in statement["Resource"]:
                    granted.add(resource.get("Ref", PARTNER_SECRETS))  # else the partners prefix
    return granted


def named_secrets(logical_id: str) -> set[str]:
    """The secrets a function's environment tells its code where to find."""
    variables = template_function(logical_id).get("Environment", {}).get("Variables", {})
    named = {value["Ref"] for name, value in variables.items() if name.endswith("_SECRET")}
    return named | ({PARTNER_SECRETS} if "PARTNER_SECRETS_PREFIX" in variables else set())


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
        service = client.meta.service_model.service_name
        if service == "dynamodb":
            if operation == "TransactWriteItems":
                for item in params["TransactItems"]:
                    used["current"].update(TRANSACTION_ACTIONS[kind] for kind in item)
            else:
                used["current"].add(operation)
        if service == "secretsmanager" and operation == "GetSecretValue":
            used["secrets"].add(SECRET_IDS[params["SecretId"]])
        return original(client, operation, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", record)
    return used


@pytest.fixture
def secrets_in_aws(aws, monkeypatch):
    """The claim-token key and the receipt-code keys in (moto's) Secrets Manager, as deployed, not in files."""
    client = boto3.client("secretsmanager")
    for variable, local, name in SECRETS.values():
        client.create_secret(Name=name, SecretString=f"{name}-value")
        monkeypatch.setenv(variable, name)
        monkeypatch.delenv(local)
    caches = (config.settings, secret_store.claim_token_key, parameters.clear_caches)
    for clear in caches:
        getattr(clear, "cache_clear", clear)()
    yield
    for clear in caches:
        getattr(clear, "cache_clear", clear)()


@pytest.mark.usefixtures("reset_handler_caches", "secrets_in_aws")
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
    assert used_actions["secrets"] <= granted_secrets(logical_id), sorted(used_actions["secrets"])


@pytest.mark.usefixtures("reset_handler_caches", "secrets_in_aws")
def test_an_anonymous_sale_and_its_redemption_read_only_the_receipt_code_keys(store, used_actions):
    # Given an anonymous cash sale through the org API
    sale = load("org-api-post-pos-sale.json")
    sale["body"] = json.dumps({**json.loads(sale["body"]), "payment_method": "cash", "customer": {}})
    used_actions.clear()
    code = json.loads(org_api.handler(sale, FakeContext())["body"])["receipt_code"]
    sold = set(used_actions["secrets"])

    # When its code is redeemed through the app API (another function: its own cache)
    parameters.clear_caches()
    redeem = load("app-api-post-receipt.json")
    redeem["path"] = redeem["path"].replace("RECEIPT_CODE", code)
    redeem["pathParameters"] = {"code": code}
    used_actions.clear()
    assert app_api.handler(redeem, FakeContext())["statusCode"] == 200

    # Then each read the receipt-code keys from Secrets Manager, which its policy grants
    assert sold == used_actions["secrets"] == {"ReceiptCodeKeys"}
    assert "ReceiptCodeKeys" in granted_secrets("OrgApiFunction") & granted_secrets("AppApiFunction")


@pytest.mark.parametrize(
    ("module", "logical_id"),
    [*FUNCTIONS.values(), (authorizer, "AuthorizerFunction")],
    ids=[*(logical_id for _, logical_id in FUNCTIONS.values()), "AuthorizerFunction"],
)
def test_each_function_is_granted_exactly_the_secrets_its_code_requires(module, logical_id):
    # The secrets its environment names are those its policies grant, and its code requires each variable
    granted = granted_secrets(logical_id)
    assert granted == named_secrets(logical_id)
    variables = {SECRETS[s][0] if s in SECRETS else "PARTNER_SECRETS_PREFIX" for s in granted}
    assert variables <= required_variables(module), variables
    required = {variable for variable, _, _ in SECRETS.values() if variable in required_variables(module)}
    assert required <= variables  # and it requires none it is not granted


def required_variables(module) -> set[str]:
    """The variables a function requires: the fields of the settings it reads (edge/config.py), and any it
    names in its source."""
    kinds = [
        value
        for value in vars(module).values()
        if isinstance(value, type) and dataclasses.is_dataclass(value) and value.__module__ == config.__name__
    ]
    fields = {field.name.upper() for kind in kinds for field in dataclasses.fields(kind)}
    return fields | set(re.findall(r'"([A-Z][A-Z_]+)"', inspect.getsource(module)))


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
