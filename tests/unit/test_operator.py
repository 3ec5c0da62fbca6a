"""The operator's commands: against a deployed stack only with --stack (its tables, secrets prefix, usage plan,
event bus and queue from the stack, on moto's CloudFormation), locally only on a running `make run` (never
falling through to AWS), and the commands the README and docs/deploy.md give parse as written."""

import json
import re
import shlex
from pathlib import Path

import boto3
import pytest

from customer_profiles.domain.identity import users
from customer_profiles.domain.privacy import privacy
from scripts.operator import _parser, resolve_target, samconfig_region
from scripts.operator import main as operator
from tests.unit.conftest import TABLES
from tests.unit.test_erasure import holding, person, sell

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def stack(aws):
    """A deployed stack's outputs and parameters, as `sam deploy` leaves them (moto's CloudFormation)."""
    gateway = boto3.client("apigateway")
    gateway.create_rest_api(name="customer-profiles-test")
    plan = gateway.create_usage_plan(name="partners", apiStages=[])
    outputs = {
        "ProfilesTableName": TABLES["ProfilesTable"],
        "IdempotencyTableName": TABLES["IdempotencyTable"],
        "PartnerUsagePlanId": plan["id"],
        "EventBusName": "customer-profiles-test",
    }
    template = {
        "Parameters": {"Stage": {"Type": "String"}, "ClaimUrlBase": {"Type": "String"}},
        "Resources": {"Alarms": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "alarms"}}},
        "Outputs": {name: {"Value": value} for name, value in outputs.items()},
    }
    boto3.client("cloudformation").create_stack(
        StackName="customer-profiles-test",
        TemplateBody=json.dumps(template),
        Parameters=[
            {"ParameterKey": "Stage", "ParameterValue": "test"},
            {"ParameterKey": "ClaimUrlBase", "ParameterValue": "https://tickets.example.com/claim/"},
        ],
    )
    return {"name": "customer-profiles-test", "usage_plan": plan["id"]}


def test_register_partner_on_a_stack_stores_its_secret_and_gives_it_an_api_key_in_the_usage_plan(stack, capsys):
    code = operator(
        [
            *("--stack", stack["name"], "register-partner", "--partner-id", "resale-co", "--name", "Resale"),
            *("--org-id", "org-demo"),
        ]
    )

    assert code == 0, capsys.readouterr().err
    secret_line, key_line = capsys.readouterr().out.strip().splitlines()
    stored = boto3.client("secretsmanager").get_secret_value(SecretId="customer-profiles/test/partners/resale-co")
    assert json.loads(stored["SecretString"]) == {"secrets": [secret_line]}
    (plan_key,) = boto3.client("apigateway").get_usage_plan_keys(usagePlanId=stack["usage_plan"])["items"]
    assert key_line == f"x-api-key: {plan_key['value']}" and plan_key["name"] == "partner-resale-co"


def test_add_staff_on_a_stack_uses_its_table_and_refuses_to_demote_the_last_admin(stack, store, capsys):
    on_stack = ["--stack", stack["name"]]
    assert operator([*on_stack, "add-staff", "--org-id", "org-a", "--subject", "ann", "--role", "admin"]) == 0
    assert operator([*on_stack, "add-staff", "--org-id", "org-a", "--subject", "ann", "--role", "pos"]) == 1
    assert "at least one admin" in capsys.readouterr().err
    assert operator([*on_stack, "remove-staff", "--org-id", "org-a", "--subject", "nobody"]) == 1
    assert store.membership_and_roster("org-a", "ann")[0] is not None


def test_a_redrive_on_a_stack_deletes_an_erased_persons_answers_in_its_idempotency_table(stack, store, monkeypatch):
    """An erasure the operator completes deletes the idempotent answers about the person's profiles, as the
    linker's does: an operator's store without the stack's idempotency table deleted only the answers'
    references and left the answers, with the phone staff typed, for their 24 hours (test_stateful_chaos.py
    found one after its `redrive` step had completed a `pseudonymise_profile` before the stream)."""
    for name in ("EVENT_BUS_NAME", "CLAIM_URL_BASE"):  # the operator sets them from the stack: restored after
        monkeypatch.setenv(name, "")
    someone = person("op-erased", email="answered@example.com", phone="+447911000077")
    users.register_me(store, someone)
    sell(store, "org-a", phone="+447911000077")  # the answer shows the profile with the phone typed
    privacy.erase_me(store, someone)

    assert operator(["--stack", stack["name"], "redrive"]) == 0

    assert store.all_pending() == []
    assert holding(store, "answered@example.com", "+447911000077") == []


@pytest.mark.parametrize(
    ("arguments", "requests_table"),
    [
        (["--endpoint", "http://127.0.0.1:1"], "customer-profiles-idempotency-local"),
        (["--endpoint", "http://127.0.0.1:1", "--requests-table", "answers"], "answers"),
        (["--stack", "customer-profiles-test"], TABLES["IdempotencyTable"]),
    ],
)
def test_the_operator_knows_the_idempotency_table_an_erasure_deletes_answers_in(stack, arguments, requests_table):
    assert resolve_target(_parser().parse_args([*arguments, "redrive"])).requests_table == requests_table


def test_an_unknown_stack_is_refused_in_one_line(aws, capsys):
    assert operator(["--stack", "no-such-stack", "add-staff", "--org-id", "o", "--subject", "s", "--role", "pos"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("refused: --stack no-such-stack in us-east-1:") and len(err.strip().splitlines()) == 1


def test_without_a_running_local_runtime_nothing_falls_through_to_aws(aws, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("STATE_DIR", str(tmp_path))
    calls = []
    monkeypatch.setattr(boto3, "resource", lambda *a, **k: calls.append((a, k)))

    code = operator(["add-staff", "--org-id", "org-a", "--subject", "ann", "--role", "admin"])

    assert code == 1 and calls == []
    err = capsys.readouterr().err
    assert f"no local runtime is running on {tmp_path}" in err and "--stack NAME" in err


def test_a_table_alone_names_no_dynamodb_and_is_refused(aws, capsys):
    assert operator(["--table", "t", "add-staff", "--org-id", "o", "--subject", "s", "--role", "pos"]) == 1
    assert "--stack NAME" in capsys.readouterr().err


@pytest.mark.parametrize(
    "command",
    [
        ["register-partner", "--partner-id", "p", "--name", "P", "--org-id", "o", "--secrets-prefix", "x/"],
        ["register-partner", "--partner-id", "p", "--name", "P", "--org-id", "o", "--usage-plan-id", "u"],
        ["redrive", "--queue-url", "https://sqs.eu-west-1.amazonaws.com/123456789012/failures"],
        ["redrive", "--event-bus", "customer-profiles-dev"],
    ],
)
def test_an_aws_resource_is_reached_only_with_a_stack(aws, monkeypatch, capsys, command):
    calls = []
    monkeypatch.setattr(boto3, "client", lambda *a, **k: calls.append((a, k)))

    assert operator(["--endpoint", "http://127.0.0.1:1", *command]) == 1

    assert calls == [] and "give --stack NAME" in capsys.readouterr().err


def test_the_default_region_is_samconfigs():
    assert samconfig_region() == "eu-west-1"


def documented_commands() -> list[str]:
    """Every whole `make operator ARGS="..."` the README and the deploy guide give."""
    text = (ROOT / "README.md").read_text() + (ROOT / "docs" / "deploy.md").read_text()
    return [c for c in re.findall(r'make (?:-s )?operator ARGS="([^"]+)"', text) if "..." not in c]


@pytest.mark.parametrize("arguments", documented_commands())
def test_each_documented_command_parses_as_written(arguments):
    given = re.sub(r"\$\(?\w+\)?|<[^>]+>", "x", arguments)  # shell variables and <placeholders> stand for values
    _parser().parse_args(shlex.split(given))


def test_the_docs_give_every_command():
    commands = " ".join(documented_commands())
    for command in ("add-staff", "register-app-client", "register-partner", "redrive", "run-schedule", "--stack"):
        assert command in commands
