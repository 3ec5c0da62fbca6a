"""A first deploy does what it says, checked on the template as CloudFormation receives it (SAM's own transform,
as `sam deploy` runs it), with samconfig.toml's dev settings, and with a customer managed key (KmsKeyArn):

- the alarm topic's key lets CloudWatch publish alarm actions (alias/aws/sns cannot);
- with KmsKeyArn, every function's role may use the key (tables, secret, queues, environment);
- each function logs to a log group the stack owns, not one named after the function that Lambda creates itself
  when SnapStart initialises a version (a race that fails the deploy);
- dev fits a new account (no reserved concurrency: a quota may be 10) and costs little (no per-route metrics);
- the linker's scheduled sweep has a time budget (tests/unit/test_linker.py).
"""

import copy
import functools
import tomllib
from typing import Any

import boto3
import pytest
from samcli.yamlhelper import yaml_parse
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator

from tests.support.template_tables import TEMPLATE

KEY = "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-000000000000"
SAMCONFIG = tomllib.loads((TEMPLATE.parent / "samconfig.toml").read_text())


def overrides(environment: str) -> dict[str, str]:
    given = SAMCONFIG[environment]["deploy"]["parameters"]["parameter_overrides"]
    return dict(item.split("=", 1) for item in given.split())


def transformed(**parameters: str) -> dict[str, Any]:
    """template.yaml through SAM's transform (local code paths stand for the S3 objects `sam deploy` uploads)."""
    template = yaml_parse(TEMPLATE.read_text())
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = "s3://artifacts/function.zip"
        if resource["Type"] == "AWS::Serverless::LayerVersion":
            resource["Properties"]["ContentUri"] = "s3://artifacts/layer.zip"
    translator = Translator(
        managed_policy_map=None, sam_parser=Parser(), boto_session=boto3.Session(region_name="eu-west-1")
    )
    return translator.translate(template, parameter_values=parameters, get_managed_policy_map=dict)


def resolve(value: Any, conditions: dict[str, bool], parameters: dict[str, str]) -> Any:
    """Fn::If, AWS::NoValue and Refs to parameters resolved (what CloudFormation does at deploy)."""
    if isinstance(value, dict):
        if set(value) == {"Fn::If"}:
            name, yes, no = value["Fn::If"]
            return resolve(yes if conditions[name] else no, conditions, parameters)
        if set(value) == {"Ref"} and value["Ref"] in parameters:
            return parameters[value["Ref"]]
        resolved = {k: resolve(v, conditions, parameters) for k, v in value.items()}
        return {k: v for k, v in resolved.items() if v != {"Ref": "AWS::NoValue"}}
    if isinstance(value, list):
        return [v for v in (resolve(v, conditions, parameters) for v in value) if v != {"Ref": "AWS::NoValue"}]
    return value


@functools.cache  # SAM's transform takes half a second; the tests only read what it gives
def deployed(kms_key: str = "") -> dict[str, Any]:
    """Dev's stack as CloudFormation would make it: resources whose condition holds, their values resolved."""
    parameters = {**overrides("default"), "KmsKeyArn": kms_key}
    template = transformed(**parameters)
    conditions = {
        "HasKmsKey": bool(kms_key),
        "NoKmsKey": not kms_key,
        "ReservesConcurrency": parameters["ReserveConcurrency"] == "true",
        "DetailedMetrics": parameters["ApiDetailedMetrics"] == "true",
        "HasAlarmEmail": False,
        "CreatesUserPool": parameters["CreateUserPool"] == "true",
        "TableProtected": parameters["TableDeletionProtection"] == "true",
        "HasWaf": False,
        "ManagesApiGatewayAccount": True,
    }
    assert set(template["Conditions"]) <= set(conditions), set(template["Conditions"]) - set(conditions)
    return {
        name: resolve(copy.deepcopy(resource), conditions, {"KmsKeyArn": kms_key})
        for name, resource in template["Resources"].items()
        if conditions.get(resource.get("Condition", ""), True)
    }


def of_type(resources: dict[str, Any], kind: str) -> dict[str, Any]:
    return {name: r for name, r in resources.items() if r["Type"] == kind}


@pytest.mark.parametrize("kms_key", ["", KEY], ids=["without KmsKeyArn", "with KmsKeyArn"])
def test_cloudwatch_may_use_the_alarm_topics_key(kms_key):
    resources = deployed(kms_key)

    key = resources["AlarmTopic"]["Properties"]["KmsMasterKeyId"]

    assert key != "alias/aws/sns"
    if kms_key:
        assert key == KEY and "AlarmTopicKey" not in resources  # its policy: docs/deploy.md's prerequisites
        return
    assert key == {"Ref": "AlarmTopicKey"}
    statements = resources["AlarmTopicKey"]["Properties"]["KeyPolicy"]["Statement"]
    cloudwatch = [s for s in statements if s["Principal"] == {"Service": "cloudwatch.amazonaws.com"}]
    assert cloudwatch and {"kms:Decrypt", "kms:GenerateDataKey*"} <= set(cloudwatch[0]["Action"])
    assert resources["AlarmTopicKey"]["Properties"]["EnableKeyRotation"] is True


def test_every_alarm_acts_through_that_topic():
    alarms = of_type(deployed(), "AWS::CloudWatch::Alarm")
    assert alarms and all(a["Properties"]["AlarmActions"] == [{"Ref": "AlarmTopic"}] for a in alarms.values())


def function_roles(resources: dict[str, Any]) -> dict[str, Any]:
    functions = of_type(resources, "AWS::Lambda::Function")
    roles = {f["Properties"]["Role"]["Fn::GetAtt"][0] for f in functions.values()}
    assert len(roles) == len(functions) == 5
    return {name: resources[name] for name in roles}


def key_actions(role: dict[str, Any], key: str) -> set[str]:
    return {
        action
        for policy in role["Properties"].get("Policies", [])
        for statement in policy["PolicyDocument"]["Statement"]
        if statement["Effect"] == "Allow" and statement["Resource"] == key
        for action in ([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])
    }


def test_with_a_customer_managed_key_every_functions_role_may_use_it():
    for name, role in function_roles(deployed(KEY)).items():
        assert {"kms:Decrypt", "kms:GenerateDataKey*"} <= key_actions(role, KEY), name


def test_without_one_no_role_is_given_a_key():
    for name, role in function_roles(deployed()).items():
        assert not any(a.startswith("kms:") for a in key_actions(role, KEY)), name


def test_each_function_logs_to_a_group_the_stack_owns_that_lambda_never_creates_itself():
    resources = deployed()
    groups = of_type(resources, "AWS::Logs::LogGroup")
    functions = of_type(resources, "AWS::Lambda::Function")
    used = set()
    for name, function in functions.items():
        group = function["Properties"]["LoggingConfig"]["LogGroup"]
        assert set(group) == {"Ref"} and group["Ref"] in groups, name
        used.add(group["Ref"])
    assert len(used) == len(functions)  # one group each
    for name in used:
        group_name = groups[name]["Properties"]["LogGroupName"]
        assert "/aws/lambda/" not in str(group_name), (name, group_name)  # Lambda's own default names
        assert "Function" not in str(group_name), (name, group_name)  # nor one that waits on the function
        assert groups[name]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}


def test_dev_fits_a_new_account_and_costs_little():
    resources = deployed()
    functions = of_type(resources, "AWS::Lambda::Function")

    assert all("ReservedConcurrentExecutions" not in f["Properties"] for f in functions.values())
    stages = of_type(resources, "AWS::ApiGateway::Stage")
    settings = [s for stage in stages.values() for s in stage["Properties"].get("MethodSettings", [])]
    assert settings and not any(s["MetricsEnabled"] for s in settings)
    assert overrides("default")["LogRetentionDays"] in ("1", "3", "5", "7", "14")


def test_prod_keeps_reserved_concurrency_and_per_route_metrics():
    assert overrides("prod")["ReserveConcurrency"] == "true"
    assert overrides("prod")["ApiDetailedMetrics"] == "true"


def test_the_template_defaults_fit_a_new_account_too():
    parameters = yaml_parse(TEMPLATE.read_text())["Parameters"]
    assert parameters["ReserveConcurrency"]["Default"] == "false"
    assert parameters["ApiDetailedMetrics"]["Default"] == "false"
