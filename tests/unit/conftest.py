import functools
import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.dynamodb.models import dynamodb_backends

from customer_profiles.data.codec import membership_to_items
from customer_profiles.data.store import Store
from customer_profiles.edge import config, events
from customer_profiles.edge import secrets as secret_store
from customer_profiles.models.domain import StaffMembership
from customer_profiles.models.principal import Principal
from tests.support.template_tables import create_tables

TABLES = {"ProfilesTable": "profiles-test", "IdempotencyTable": "idempotency-test"}
CURRENT_TABLES: list[Any] = []  # the moto resource of the running test (staff_principal writes memberships there)
STAFF_MEMBERS: list[StaffMembership] = []  # every staff principal made so far, member of its org
EVENTS_DIR = Path(__file__).resolve().parents[2] / "events"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Any]:
    """moto with the template's tables, and the functions' settings pointing at them."""
    monkeypatch.setenv("TABLE_NAME", TABLES["ProfilesTable"])
    monkeypatch.setenv("IDEMPOTENCY_TABLE_NAME", TABLES["IdempotencyTable"])
    monkeypatch.setenv("LOCAL_EVENT_SINK", str(tmp_path / "events.jsonl"))
    monkeypatch.setenv("LOCAL_PARTNER_SECRETS_FILE", str(tmp_path / "partner-secrets.json"))
    (tmp_path / "claim-token.key").write_text("unit-test-claim-key")
    monkeypatch.setenv("LOCAL_CLAIM_TOKEN_KEY_FILE", str(tmp_path / "claim-token.key"))
    (tmp_path / "receipt-code.keys").write_text("unit-test-receipt-key\n")
    monkeypatch.setenv("LOCAL_RECEIPT_CODE_KEYS_FILE", str(tmp_path / "receipt-code.keys"))
    caches = (config.settings, events.default_publisher, secret_store.claim_token_key)
    for cache in caches:
        cache.cache_clear()
    with mock_aws():
        dynamodb = boto3.resource("dynamodb")
        create_tables(dynamodb.meta.client, TABLES)
        CURRENT_TABLES.append(dynamodb)
        _put_memberships(dynamodb, list(STAFF_MEMBERS))
        yield dynamodb
        CURRENT_TABLES.clear()
    for cache in caches:
        cache.cache_clear()


@pytest.fixture
def store(aws: Any) -> Store:
    return Store(TABLES["ProfilesTable"], aws, requests_table=TABLES["IdempotencyTable"])


def emptied(store: Store) -> None:
    """Every item of both tables deleted but the staff memberships, and moto's stream records forgotten: a
    property test's examples share one moto table, and moto copies the whole table (its stream records too)
    for every transaction, so left to grow over hundreds of examples a soak runs out of memory."""
    kept = {(item["pk"], item["sk"]) for member in STAFF_MEMBERS for item in membership_to_items(member)}
    for name, key_names in ((store.db.name, ("pk", "sk")), (store.requests_table, ("id",))):
        table = store.db.resource.Table(name)
        items, arguments = [], {}
        while True:
            page = table.scan(**arguments)
            items += page["Items"]
            if "LastEvaluatedKey" not in page:
                break
            arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        with table.batch_writer() as batch:
            for item in items:
                key = {k: item[k] for k in key_names}
                if tuple(key.values()) not in kept:
                    batch.delete_item(Key=key)
    # moto keeps every stream record in memory, and copies them with the table for every transaction
    for backend in dynamodb_backends[DEFAULT_ACCOUNT_ID].values():
        for moto_table in backend.tables.values():
            if moto_table.stream_shard is not None:
                moto_table.stream_shard.items.clear()


def each_example_from_empty(test: Callable[..., None]) -> Callable[..., None]:
    """A property test over the `store` fixture whose every example ends with the tables `emptied` (under
    `@given`, so each example starts from empty, whatever it left)."""

    @functools.wraps(test)
    def run(store: Store, *args: Any, **kwargs: Any) -> None:
        try:
            test(store, *args, **kwargs)
        finally:
            emptied(store)

    return run


@pytest.fixture
def reset_handler_caches() -> Iterator[None]:
    """Handlers cache their store per process; each test gets a fresh one on its own moto table."""
    import app_api
    import linker
    import org_api
    import partner_webhooks

    modules = (app_api, org_api, linker, partner_webhooks)
    for module in modules:
        module.store.cache_clear()
    yield
    for module in modules:
        module.store.cache_clear()


def user_principal(subject: str | None = None, **overrides: Any) -> Principal:
    values: dict[str, Any] = {
        "kind": "user",
        "subject": subject or f"user-{uuid.uuid4().hex[:8]}",
        "client_id": "consumer-app",
        "email": None,
        "email_verified": False,
        "phone_number": None,
        "phone_number_verified": False,
    }
    values.update(overrides)
    return Principal(**values)


def staff_principal(subject: str | None, org_id: str, *roles: str, member: bool = True) -> Principal:
    """A staff console's principal whose subject is staff of `org_id` (as the authorizer hands it over). With
    `member`, the membership is also in the table (with these roles), where every staff write checks it: now
    when a moto table is up, else in each test's table as it is made (a principal made at import time). Without
    it, the principal is what a cached answer still says after a revocation."""
    principal = Principal(
        kind="staff",
        subject=subject or f"staff-{uuid.uuid4().hex[:8]}",
        client_id="staff-console",
        memberships={org_id: frozenset(roles)},
    )
    if member:
        membership = StaffMembership(
            org_id=org_id,
            subject=principal.subject,
            roles=sorted(roles),
            granted_by="test",
            granted_at="2026-01-01T00:00:00.000Z",
        )
        if CURRENT_TABLES:
            _put_memberships(CURRENT_TABLES[-1], [membership])
        else:  # made at import time: written into each test's table (moto copies the table per transaction)
            STAFF_MEMBERS.append(membership)
    return principal


def _put_memberships(dynamodb: Any, memberships: list[StaffMembership]) -> None:
    table = dynamodb.Table(TABLES["ProfilesTable"])
    for membership in memberships:
        for item in membership_to_items(membership):
            table.put_item(Item=item)


# The committed staff events' caller (events/make_events.py STAFF_CONTEXT), a member of org-demo in every table.
EVENTS_STAFF = staff_principal("local-staff-bob", "org-demo", "admin", "pos")


def api_event(name: str, *, principal: Principal | None = None, **changes: Any) -> dict[str, Any]:
    """A committed events/ file, with another principal or request fields swapped in."""
    event = json.loads((EVENTS_DIR / name).read_text())
    if principal is not None:
        event["requestContext"]["authorizer"] = {"principalId": principal.subject, **principal.to_context()}
    event.update(changes)
    return event


class FakeContext:
    function_name = "test-function"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:test-function"
    memory_limit_in_mb = 512
    aws_request_id = "00000000-0000-0000-0000-000000000000"
    log_group_name = "/aws/lambda/test-function"
    log_stream_name = "test"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000
