"""CreateTable arguments from template.yaml's own table definitions: one source of truth for keys."""

import copy
import functools
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
from samcli.yamlhelper import yaml_parse

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"
CREATE_TABLE_PROPERTIES = ("KeySchema", "AttributeDefinitions", "GlobalSecondaryIndexes", "StreamSpecification")


@functools.cache
def _resources() -> dict[str, Any]:
    """template.yaml's resources, parsed once per process: every unit test makes its tables from them, and
    parsing the template each time cost 70 ms of CPU a test."""
    return yaml_parse(TEMPLATE.read_text())["Resources"]


def table_definitions() -> dict[str, dict[str, Any]]:
    """Logical id -> CreateTable kwargs (without TableName)."""
    resources = copy.deepcopy(_resources())
    definitions = {}
    for logical_id, resource in resources.items():
        if resource["Type"] != "AWS::DynamoDB::Table":
            continue
        definition = {k: v for k, v in resource["Properties"].items() if k in CREATE_TABLE_PROPERTIES}
        if "StreamSpecification" in definition:  # CloudFormation implies StreamEnabled; the API wants it said
            definition["StreamSpecification"] = {**definition["StreamSpecification"], "StreamEnabled": True}
        definitions[logical_id] = {**definition, "BillingMode": "PAY_PER_REQUEST"}
    return definitions


def create_tables(dynamodb: Any, names: dict[str, str]) -> None:
    """Create each template table under the given name (logical id -> table name)."""
    for logical_id, definition in table_definitions().items():
        dynamodb.create_table(TableName=names[logical_id], **definition)


@contextmanager
def dynamodb_local_store(root: Path, tables: dict[str, str], log_path: Path | None = None) -> Iterator[Any]:
    """A DynamoDB Local of its own (no stream poller), with the template's tables: a Store on it."""
    from customer_profiles.data.store import Store
    from local_runtime.dynamodb import DynamoDBLocal

    dynamodb_local = DynamoDBLocal(root, port=0, log_path=log_path)
    dynamodb_local.start()
    try:
        resource = boto3.resource(
            "dynamodb",
            endpoint_url=dynamodb_local.endpoint,
            region_name="us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )
        create_tables(resource.meta.client, tables)
        yield Store(tables["ProfilesTable"], resource, requests_table=tables["IdempotencyTable"])
    finally:
        dynamodb_local.stop()
