"""The Idempotency-Key header of the routes that create orders: required, bounded, one per caller."""

from __future__ import annotations

from typing import Annotated, TypedDict

from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.event_handler.openapi.params import Header

from customer_profiles.errors import InvalidInput, MissingIdempotencyKey
from customer_profiles.models.principal import Principal

MAX_KEY_LENGTH = 255
# A route's parameter of this type documents the header; `keyed_by` reads it (missing: 400, as a domain error).
IDEMPOTENCY_KEY = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=MAX_KEY_LENGTH,
        description="Required: one per purchase or sale; a retry with the same key answers the first answer.",
    ),
]


class KeyedBy(TypedDict):
    """Whose key it is and the key: the `caller` and `key` of `domain.idempotency.under_key`."""

    caller: str
    key: str


def keyed_by(app: APIGatewayRestResolver, principal: Principal, *, org_id: str | None = None) -> KeyedBy:
    """This request's Idempotency-Key, scoped to its sender: a user's keys are theirs; a staff member's are
    theirs in the org (`org_id`) the route acts in."""
    caller = f"staff:{org_id}:{principal.subject}" if org_id is not None else f"user:{principal.subject}"
    return KeyedBy(caller=caller, key=required_key(app.current_event.headers))


def required_key(headers: dict[str, str] | None) -> str:
    key = next((v for k, v in (headers or {}).items() if k.lower() == "idempotency-key"), None)
    if not key or not key.strip():
        raise MissingIdempotencyKey("this route requires an Idempotency-Key header")
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidInput(f"Idempotency-Key is longer than {MAX_KEY_LENGTH} characters", field="Idempotency-Key")
    return key.strip()
