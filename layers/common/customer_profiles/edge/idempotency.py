"""The Idempotency-Key header of the routes that create orders: required, bounded, one per caller."""

from __future__ import annotations

from customer_profiles.errors import InvalidInput, MissingIdempotencyKey

MAX_KEY_LENGTH = 255


def required_key(headers: dict[str, str] | None) -> str:
    key = next((v for k, v in (headers or {}).items() if k.lower() == "idempotency-key"), None)
    if not key or not key.strip():
        raise MissingIdempotencyKey("this route requires an Idempotency-Key header")
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidInput(f"Idempotency-Key is longer than {MAX_KEY_LENGTH} characters", field="Idempotency-Key")
    return key.strip()
