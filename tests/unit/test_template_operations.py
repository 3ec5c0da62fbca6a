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
    groups = [
        r["Properties"]
        for r in RESOURCES.values()
        if r["Type"] == "AWS::Logs::LogGroup"
        and r["Properties"]["LogGroupName"] == {"Fn::Sub": f"/aws/lambda/${{{function}}}"}
    ]
    assert len(groups) == 1
    assert groups[0]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
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
