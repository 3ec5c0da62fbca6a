"""The operator's AWS paths, on moto: a partner's secret in Secrets Manager and its API key in the usage plan."""

import json

import boto3

from scripts.operator import main as operator
from tests.unit.conftest import TABLES


def test_register_partner_in_aws_stores_its_secret_and_gives_it_an_api_key_in_the_usage_plan(aws, capsys):
    gateway = boto3.client("apigateway")
    api = gateway.create_rest_api(name="customer-profiles-test")
    plan = gateway.create_usage_plan(name="partners", apiStages=[])

    code = operator(
        [
            *("--table", TABLES["ProfilesTable"], "register-partner", "--partner-id", "resale-co", "--name", "Resale"),
            *("--org-id", "org-demo", "--secrets-prefix", "customer-profiles/test/partners/"),
            *("--usage-plan-id", plan["id"]),
        ]
    )

    assert code == 0 and api["id"]
    secret_line, key_line = capsys.readouterr().out.strip().splitlines()
    stored = boto3.client("secretsmanager").get_secret_value(SecretId="customer-profiles/test/partners/resale-co")
    assert json.loads(stored["SecretString"]) == {"secrets": [secret_line]}
    (plan_key,) = gateway.get_usage_plan_keys(usagePlanId=plan["id"])["items"]
    assert key_line == f"x-api-key: {plan_key['value']}" and plan_key["name"] == "partner-resale-co"


def test_add_staff_refuses_to_demote_the_last_admin(aws, capsys):
    table = ["--table", TABLES["ProfilesTable"]]
    assert operator([*table, "add-staff", "--org-id", "org-a", "--subject", "ann", "--role", "admin"]) == 0
    assert operator([*table, "add-staff", "--org-id", "org-a", "--subject", "ann", "--role", "pos"]) == 1
    assert "at least one admin" in capsys.readouterr().err
    assert operator([*table, "remove-staff", "--org-id", "org-a", "--subject", "nobody"]) == 1
