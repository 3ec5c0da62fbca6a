"""What production operation needs from template.yaml, checked on the template itself: a log group with
retention per function, reserved concurrency, the optional customer managed key wherever data rests, the
alarms' actions, and a dashboard whose body is JSON naming only what the stack has."""

import json
import re

import pytest
from samcli.yamlhelper import yaml_parse

from tests.support.template_tables import TEMPLATE

TEMPLATE_DICT = yaml_parse(TEMPLATE.read_text())
RESOURCES = TEMPLATE_DICT["Resources"]
FUNCTIONS = sorted(k for k, v in RESOURCES.items() if v["Type"] == "AWS::Serverless::Function")


@pytest.mark.parametrize("function", FUNCTIONS)
def test_each_function_has_its_log_group_with_retention_and_reserved_concurrency(function):
    group = RESOURCES[function]["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
    assert RESOURCES[group]["Type"] == "AWS::Logs::LogGroup"
    assert RESOURCES[group]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    reserved = RESOURCES[function]["Properties"]["ReservedConcurrentExecutions"]
    assert reserved["Fn::If"][0] == "ReservesConcurrency"


@pytest.mark.parametrize(
    ("resource", "path"),
    [
        ("ProfilesTable", ["SSESpecification"]),
        ("IdempotencyTable", ["SSESpecification"]),
        ("ClaimTokenKey", ["KmsKeyId"]),
        ("LinkerFailureQueue", ["KmsMasterKeyId"]),
        ("LinkerFailureDeadLetterQueue", ["KmsMasterKeyId"]),
        ("AlarmTopic", ["KmsMasterKeyId"]),
        ("ApiAccessLogs", ["KmsKeyId"]),
        ("LinkerLogGroup", ["KmsKeyId"]),
    ],
)
def test_the_customer_managed_key_applies_wherever_data_rests(resource, path):
    value = RESOURCES[resource]["Properties"]
    for step in path:
        value = value[step]
    assert value["Fn::If"][0] == "HasKmsKey"
    assert {"Ref": "KmsKeyArn"} in (value["Fn::If"][1], value["Fn::If"][1].get("KMSMasterKeyId"))


def test_every_alarm_notifies_the_alarm_topic():
    alarms = {k: v for k, v in RESOURCES.items() if v["Type"] == "AWS::CloudWatch::Alarm"}
    assert len(alarms) == 8  # 5xx rate, authorizer, linker errors, iterator age, two queues, pending age, throttles
    for name, alarm in alarms.items():
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": "AlarmTopic"}], name


def test_the_dashboard_is_json_naming_only_the_stacks_resources_and_parameters():
    body = RESOURCES["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    names = set(re.findall(r"\$\{([^}]+)\}", body))
    known = set(RESOURCES) | set(TEMPLATE_DICT["Parameters"]) | {"AWS::Region"}
    assert {n.split(".")[0] for n in names} <= known
    widgets = json.loads(re.sub(r"\$\{[^}]+\}", "x", body))["widgets"]
    titles = " ".join(w["properties"]["title"] for w in widgets)
    for shown in ("requests", "p99", "errors", "throttles", "Linker lag", "failure queues"):
        assert shown in titles


def test_the_prod_placeholders_are_refused_before_anything_is_deployed():
    import tomllib

    config = tomllib.loads((TEMPLATE.parent / "samconfig.toml").read_text())
    overrides = dict(p.split("=", 1) for p in config["prod"]["deploy"]["parameters"]["parameter_overrides"].split())
    parameters = TEMPLATE_DICT["Parameters"]
    for name in ("IdpIssuer", "IdpJwksUrl"):
        assert overrides[name] == "CHANGE-ME"
        assert not re.fullmatch(parameters[name]["AllowedPattern"], overrides[name])
        assert re.fullmatch(parameters[name]["AllowedPattern"], "https://idp.example.com/x")
    refused = {
        a["Assert"]["Fn::Not"][0]["Fn::Equals"][0]["Ref"]
        for a in TEMPLATE_DICT["Rules"]["NoPlaceholders"]["Assertions"]
    }
    assert {"IdpAudiences", "StaffClientIds"} <= refused
    assert config["default"]["global"]["parameters"]["region"]


def test_gateway_responses_belong_to_the_api_and_answer_in_our_error_shape():
    assert not [k for k, v in RESOURCES.items() if v["Type"] == "AWS::ApiGateway::GatewayResponse"]
    responses = RESOURCES["ProfileApi"]["Properties"]["GatewayResponses"]
    for kind in ("UNAUTHORIZED", "ACCESS_DENIED", "MISSING_AUTHENTICATION_TOKEN", "THROTTLED", "QUOTA_EXCEEDED"):
        template = responses[kind]["ResponseTemplates"]["application/json"]
        assert json.loads(template)["error"]["code"]
        assert responses[kind]["ResponseParameters"]["Headers"]["Access-Control-Allow-Origin"] == "'*'"
    assert responses["THROTTLED"]["ResponseParameters"]["Headers"]["Retry-After"] == "'1'"
