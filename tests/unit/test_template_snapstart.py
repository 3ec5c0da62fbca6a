"""SnapStart in template.yaml: every function behind the API restores a published version through its alias
(the authorizer too), a new common layer publishes new versions, and the local runtime reads the same."""

import pytest
from samcli.yamlhelper import yaml_parse

from local_runtime.template import LOCAL_PARAMETERS, load_template
from tests.support.template_tables import TEMPLATE

TEMPLATE_DICT = yaml_parse(TEMPLATE.read_text())
RESOURCES = TEMPLATE_DICT["Resources"]
AUTHORIZERS = RESOURCES["ProfileApi"]["Properties"]["Auth"]["Authorizers"]


def behind_the_api() -> list[str]:
    routed = {
        name
        for name, resource in RESOURCES.items()
        if resource["Type"] == "AWS::Serverless::Function"
        and any(e["Type"] == "Api" for e in (resource["Properties"].get("Events") or {}).values())
    }
    authorizers = {a["FunctionArn"]["Ref"].removesuffix(".Alias") for a in AUTHORIZERS.values()}
    return sorted(routed | authorizers)


def test_the_functions_behind_the_api_are_the_four_expected():
    assert behind_the_api() == ["AppApiFunction", "AuthorizerFunction", "OrgApiFunction", "PartnerWebhooksFunction"]


@pytest.mark.parametrize("function", behind_the_api())
def test_each_function_behind_the_api_publishes_an_alias_with_snapstart(function):
    props = RESOURCES[function]["Properties"]
    assert props["AutoPublishAlias"] == "live"
    assert props["AutoPublishAliasAllProperties"] is True  # a new layer or setting publishes a version too
    assert props["VersionDeletionPolicy"] == "Delete"  # no snapshot left billed on a replaced version
    assert props["SnapStart"] == {"ApplyOn": "PublishedVersions"}
    # what SnapStart does not support (Lambda's documented limits)
    assert "ProvisionedConcurrencyConfig" not in props and "FileSystemConfigs" not in props
    assert props.get("EphemeralStorage", {}).get("Size", 512) <= 512


def test_the_authorizer_is_invoked_through_its_alias():
    assert AUTHORIZERS["PlatformJwt"]["FunctionArn"] == {"Ref": "AuthorizerFunction.Alias"}


def test_a_new_common_layer_publishes_new_versions_of_the_functions():
    assert RESOURCES["CommonLayer"]["Properties"]["PublishLambdaVersion"] is True


def test_the_stream_triggered_linker_has_no_snapstart():
    assert "SnapStart" not in RESOURCES["LinkerFunction"]["Properties"]


def test_the_local_runtime_runs_the_hooks_of_the_same_functions_and_keeps_the_authorizer():
    from samcli.lib.providers.api_provider import ApiProvider

    template = load_template(TEMPLATE, LOCAL_PARAMETERS)
    assert sorted(n for n, fn in template.functions.items() if fn.snap_start) == behind_the_api()
    routes = ApiProvider(template.stacks, cwd=str(template.root)).api.routes
    guarded = [r for r in routes if r.authorizer_name]
    assert guarded and all(r.authorizer_object.lambda_name == "AuthorizerFunction" for r in guarded)


def test_sam_points_the_api_and_its_invoke_permissions_at_the_aliases(monkeypatch):
    """What CloudFormation receives (SAM's transform, code locations stubbed): every API integration and the
    authorizer call an alias, and each permission API Gateway needs is granted on that alias."""
    import copy
    import json
    from unittest.mock import MagicMock

    from samtranslator.translator.transform import transform

    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    template = copy.deepcopy(TEMPLATE_DICT)
    for resource in template["Resources"].values():
        for uri in ("CodeUri", "ContentUri"):
            if uri in resource.get("Properties", {}):
                resource["Properties"][uri] = "s3://bucket/key"
    out = transform(template, {}, MagicMock(load=MagicMock(return_value={})))["Resources"]

    aliases = {f"{name}Aliaslive" for name in behind_the_api()}
    assert aliases <= set(out)
    permissions = [r["Properties"] for r in out.values() if r["Type"] == "AWS::Lambda::Permission"]
    api_permissions = [p for p in permissions if p["Principal"] == "apigateway.amazonaws.com"]
    assert api_permissions and all(p["FunctionName"]["Ref"] in aliases for p in api_permissions)
    authorizer_permissions = [p for p in api_permissions if p["FunctionName"] == {"Ref": "AuthorizerFunctionAliaslive"}]
    assert len(authorizer_permissions) == 1
    body = json.dumps(out["ProfileApi"]["Properties"]["Body"])
    assert "AuthorizerFunctionAliaslive" in body and "AppApiFunctionAliaslive" in body
    assert "AuthorizerFunction.Arn" not in body and "${AppApiFunction.Arn}" not in body
