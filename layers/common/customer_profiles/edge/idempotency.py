"""Idempotent retries of writes keyed by the caller and their Idempotency-Key header (Powertools idempotency).

The key is checked here, not by a JMESPath over the event: Powertools treats a composite key as missing only
when every part is None, so a missing header would otherwise let different requests replay each other.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from customer_profiles.edge.config import settings
from customer_profiles.errors import InvalidInput, MissingIdempotencyKey

MAX_KEY_LENGTH = 255
RETENTION_SECONDS = 24 * 3600


@lru_cache(maxsize=1)
def persistence_layer() -> DynamoDBPersistenceLayer:
    table = settings().idempotency_table_name
    if not table:
        raise RuntimeError("IDEMPOTENCY_TABLE_NAME is not set")
    return DynamoDBPersistenceLayer(table_name=table)


def idempotency_key(headers: dict[str, str] | None) -> str:
    key = next((v for k, v in (headers or {}).items() if k.lower() == "idempotency-key"), None)
    if not key or not key.strip():
        raise MissingIdempotencyKey("this route requires an Idempotency-Key header")
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidInput(f"Idempotency-Key is longer than {MAX_KEY_LENGTH} characters", field="Idempotency-Key")
    return key.strip()


def run_once(
    operation: str,
    *,
    caller: str,
    key: str,
    payload: Any,
    context: LambdaContext,
    action: Callable[[], dict[str, Any]],
) -> dict[str, Any]:
    """Run `action` once per (operation, caller, key); a retry gets the first result back.

    The same key with another payload raises IdempotencyValidationError; a retry while the first is still
    running raises IdempotencyAlreadyInProgressError (customer_profiles.edge.http maps both).
    """
    config = IdempotencyConfig(
        event_key_jmespath="[operation, caller, key]",
        payload_validation_jmespath="payload",
        expires_after_seconds=RETENTION_SECONDS,
    )
    config.register_lambda_context(context)

    def perform(request: dict[str, Any]) -> dict[str, Any]:
        return action()

    perform.__qualname__ = f"run_once.{operation}"
    guarded = idempotent_function(
        data_keyword_argument="request", persistence_store=persistence_layer(), config=config
    )(perform)
    return guarded(request={"operation": operation, "caller": caller, "key": key, "payload": payload})


def created_once(
    app: APIGatewayRestResolver, operation: str, *, caller: str, payload: Any, action: Callable[[], dict[str, Any]]
) -> Response[dict[str, Any]]:
    """A route's 201, run once per caller and Idempotency-Key header (a retry gets the first body back)."""
    body = run_once(
        operation,
        caller=caller,
        key=idempotency_key(app.current_event.headers),
        payload=payload,
        context=app.lambda_context,
        action=action,
    )
    return Response(status_code=201, content_type=content_types.APPLICATION_JSON, body=body)
