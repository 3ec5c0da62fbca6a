"""Reads template.yaml: parameters, local resource names, tables, functions and stream event sources.

Intrinsics are resolved with SAM CLI's own resolver; every resource gets a local translation (a table's Ref is its
local table name, an event bus's Ref its name, a queue's Ref a local URL...), so the functions' environments hold
the values they would hold in the deployed stack.
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REGION = "us-east-1"
ACCOUNT = "123456789012"

LOCAL_PARAMETERS: dict[str, str] = {
    "Stage": "local",
    "TableDeletionProtection": "false",
    "LogLevel": "INFO",
    "IdpIssuer": "https://local-idp.customer-profiles.test",
    "IdpAudiences": "local-consumer-app,local-whitelabel-app,local-staff-console",
    "StaffClientIds": "local-staff-console",
}

# Properties of AWS::DynamoDB::Table that create_table accepts (and DynamoDB Local honours).
_TABLE_KEYS = (
    "TableName",
    "AttributeDefinitions",
    "KeySchema",
    "GlobalSecondaryIndexes",
    "LocalSecondaryIndexes",
    "BillingMode",
    "ProvisionedThroughput",
)


@dataclass
class TableSpec:
    logical_id: str
    name: str
    create_args: dict[str, Any]
    ttl_attribute: str | None = None


@dataclass
class StreamSourceSpec:
    event_name: str
    table_logical_id: str
    batch_size: int = 100
    maximum_retry_attempts: int = -1
    bisect_on_error: bool = False
    report_batch_item_failures: bool = False
    starting_position: str = "TRIM_HORIZON"


@dataclass
class FunctionSpec:
    logical_id: str
    name: str
    code_dir: Path
    handler: str
    timeout: int
    memory: int
    layer_dirs: list[Path]
    environment: dict[str, str]
    streams: list[StreamSourceSpec] = field(default_factory=list)
    snap_start: bool = False  # SnapStart on published versions: its worker runs the runtime hooks

    @property
    def arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{self.name}"


@dataclass
class LocalTemplate:
    path: Path
    root: Path
    parameters: dict[str, Any]
    tables: dict[str, TableSpec]
    functions: dict[str, FunctionSpec]
    stacks: list[Any]


def _str(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        import json

        return json.dumps(value)
    return str(value)


def _resolver(template: dict[str, Any], translator: dict[str, Any]) -> Any:
    from samcli.lib.intrinsic_resolver.intrinsic_property_resolver import IntrinsicResolver
    from samcli.lib.intrinsic_resolver.intrinsics_symbol_table import IntrinsicsSymbolTable

    return IntrinsicResolver(
        template=template,
        symbol_resolver=IntrinsicsSymbolTable(logical_id_translator=translator, template=template),
    )


def _parameter_values(template: dict[str, Any], overrides: dict[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {
        "AWS::Region": REGION,
        "AWS::AccountId": ACCOUNT,
        "AWS::StackName": "customer-profiles-local",
        "AWS::Partition": "aws",
        "AWS::URLSuffix": "amazonaws.com",
        "AWS::NoValue": None,
    }
    for name, spec in (template.get("Parameters") or {}).items():
        if isinstance(spec, dict) and "Default" in spec:
            values[name] = spec["Default"]
    values.update(overrides)
    return values


def _resource_translations(template: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """A local {Ref, Arn, ...} translation for every resource of the template."""
    resolver = _resolver(template, dict(params))
    out: dict[str, Any] = {}
    for logical_id, res in (template.get("Resources") or {}).items():
        rtype = res.get("Type", "")
        props = res.get("Properties") or {}

        def prop(key: str, default: str, _props: dict[str, Any] = props) -> str:
            if key not in _props:
                return default
            return _str(resolver.intrinsic_property_resolver(copy.deepcopy(_props[key]), ignore_errors=True))

        if rtype == "AWS::DynamoDB::Table":
            name = prop("TableName", logical_id)
            arn = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}"
            out[logical_id] = {"Ref": name, "Arn": arn, "StreamArn": f"{arn}/stream/local"}
        elif rtype == "AWS::Events::EventBus":
            name = prop("Name", logical_id)
            out[logical_id] = {"Ref": name, "Name": name, "Arn": f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/{name}"}
        elif rtype == "AWS::SQS::Queue":
            name = prop("QueueName", logical_id)
            out[logical_id] = {
                "Ref": f"http://localhost/{ACCOUNT}/{name}",
                "QueueName": name,
                "QueueUrl": f"http://localhost/{ACCOUNT}/{name}",
                "Arn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}",
            }
        elif rtype in ("AWS::Serverless::Function", "AWS::Lambda::Function"):
            name = prop("FunctionName", logical_id)
            arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"
            out[logical_id] = {"Ref": name, "Arn": arn}
            if "AutoPublishAlias" in props:
                # SAM's `!Ref MyFunction.Alias` (the authorizer's FunctionArn): the alias ARN, in which SAM CLI's
                # gateway finds the function; unresolved, it would skip the authorizer and serve routes unguarded.
                out[f"{logical_id}.Alias"] = {"Ref": f"{arn}:{prop('AutoPublishAlias', 'live')}"}
        elif rtype == "AWS::Logs::LogGroup":
            name = prop("LogGroupName", logical_id)
            out[logical_id] = {"Ref": name, "Arn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{name}"}
    return out


def _table_spec(logical_id: str, props: dict[str, Any], name: str) -> TableSpec:
    args: dict[str, Any] = {k: copy.deepcopy(props[k]) for k in _TABLE_KEYS if k in props}
    args["TableName"] = name
    args.setdefault("BillingMode", "PROVISIONED" if "ProvisionedThroughput" in args else "PAY_PER_REQUEST")
    stream = props.get("StreamSpecification")
    if isinstance(stream, dict) and stream.get("StreamViewType"):
        args["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream["StreamViewType"]}
    ttl = props.get("TimeToLiveSpecification")
    ttl_attr = None
    if isinstance(ttl, dict) and ttl.get("Enabled") in (True, "true") and ttl.get("AttributeName"):
        ttl_attr = str(ttl["AttributeName"])
    return TableSpec(logical_id=logical_id, name=name, create_args=args, ttl_attribute=ttl_attr)


def _stream_sources(events: dict[str, Any] | None, tables: dict[str, TableSpec], raw: dict[str, Any]) -> list:
    out: list[StreamSourceSpec] = []
    for event_name, event in (events or {}).items():
        if not isinstance(event, dict) or event.get("Type") != "DynamoDB":
            continue
        raw_props = (raw.get(event_name) or {}).get("Properties") or {}
        stream_ref = raw_props.get("Stream")
        table_id = None
        if isinstance(stream_ref, dict) and "Fn::GetAtt" in stream_ref:
            target = stream_ref["Fn::GetAtt"]
            table_id = target[0] if isinstance(target, list) else str(target).split(".")[0]
        if table_id not in tables:
            continue
        props = event.get("Properties") or {}
        out.append(
            StreamSourceSpec(
                event_name=event_name,
                table_logical_id=table_id,
                batch_size=int(props.get("BatchSize", 100)),
                maximum_retry_attempts=int(props.get("MaximumRetryAttempts", -1)),
                bisect_on_error=props.get("BisectBatchOnFunctionError") in (True, "true"),
                report_batch_item_failures="ReportBatchItemFailures" in (props.get("FunctionResponseTypes") or []),
                starting_position=str(props.get("StartingPosition", "TRIM_HORIZON")),
            )
        )
    return out


def load_template(template_path: str | os.PathLike[str], overrides: dict[str, str] | None = None) -> LocalTemplate:
    """Parse the template, resolve it for local use and describe its tables and functions."""
    from samcli.lib.providers.sam_function_provider import SamFunctionProvider
    from samcli.lib.providers.sam_stack_provider import SamLocalStackProvider
    from samcli.yamlhelper import yaml_parse

    path = Path(template_path).resolve()
    root = path.parent
    raw = yaml_parse(path.read_text())
    params = _parameter_values(raw, dict(overrides or {}))
    translations = _resource_translations(raw, params)

    resolver = _resolver(raw, {**params, **translations})
    tables: dict[str, TableSpec] = {}
    for logical_id, res in (raw.get("Resources") or {}).items():
        if res.get("Type") != "AWS::DynamoDB::Table":
            continue
        props = resolver.intrinsic_property_resolver(copy.deepcopy(res.get("Properties") or {}), ignore_errors=True)
        tables[logical_id] = _table_spec(logical_id, props, translations[logical_id]["Ref"])

    stacks, _ = SamLocalStackProvider.get_stacks(str(path), parameter_overrides={**(overrides or {}), **translations})
    provider = SamFunctionProvider(stacks, ignore_code_extraction_warnings=True)
    functions: dict[str, FunctionSpec] = {}
    for fn in provider.get_all():
        if fn.packagetype != "Zip" or not fn.codeuri or not fn.handler:
            continue
        env_vars = (fn.environment or {}).get("Variables") or {}
        environment = {str(k): _str(v) for k, v in env_vars.items() if v is not None}
        raw_props = ((raw.get("Resources") or {}).get(fn.name) or {}).get("Properties") or {}
        raw_events = raw_props.get("Events") or {}
        snap_start = raw_props.get("SnapStart") or ((raw.get("Globals") or {}).get("Function") or {}).get("SnapStart")
        layer_dirs = [(root / layer.codeuri).resolve() for layer in fn.layers if getattr(layer, "codeuri", None)]
        functions[fn.name] = FunctionSpec(
            logical_id=fn.name,
            name=fn.functionname or fn.name,
            code_dir=(root / fn.codeuri).resolve(),
            handler=fn.handler,
            timeout=int(fn.timeout or 3),
            memory=int(fn.memory or 128),
            layer_dirs=layer_dirs,
            environment=environment,
            streams=_stream_sources(fn.events, tables, raw_events),
            snap_start=(snap_start or {}).get("ApplyOn") == "PublishedVersions",
        )
    return LocalTemplate(path=path, root=root, parameters=params, tables=tables, functions=functions, stacks=stacks)
