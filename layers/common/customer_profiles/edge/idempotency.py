"""The Idempotency-Key header of the routes that create orders: required, bounded, one per caller."""

from __future__ import annotations

from typing import Any

from customer_profiles.data.requests import IdempotentRequest
from customer_profiles.domain.idempotency import under_key
from customer_profiles.errors import InvalidInput, MissingIdempotencyKey

MAX_KEY_LENGTH = 255


def idempotency_key(headers: dict[str, str] | None) -> str:
    key = next((v for k, v in (headers or {}).items() if k.lower() == "idempotency-key"), None)
    if not key or not key.strip():
        raise MissingIdempotencyKey("this route requires an Idempotency-Key header")
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidInput(f"Idempotency-Key is longer than {MAX_KEY_LENGTH} characters", field="Idempotency-Key")
    return key.strip()


def keyed_request(headers: dict[str, str] | None, operation: str, *, caller: str, payload: Any) -> IdempotentRequest:
    """The request under its caller's key: a retry (same caller, key and payload) gets the first answer."""
    return under_key(operation, caller=caller, key=idempotency_key(headers), payload=payload)
