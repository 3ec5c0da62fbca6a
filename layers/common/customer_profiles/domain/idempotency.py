"""Idempotency-Key semantics: a retry of a request gets the first answer back, for 24 hours; the same key
with another payload is refused. The answer is written with the request's own writes (data/requests.py)."""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

from customer_profiles.errors import IdempotencyKeyReused
from customer_profiles.ports.sales import Answered, IdempotentRequest


def under_key(operation: str, *, caller: str, key: str, payload: Any) -> IdempotentRequest:
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return IdempotentRequest(operation, caller, key, hashlib.sha256(canonical.encode()).hexdigest())


def unkeyed(operation: str) -> IdempotentRequest:
    """A request without an Idempotency-Key (an internal caller): a key of its own, never a retry."""
    return IdempotentRequest(operation, "internal", uuid.uuid4().hex, "")


def replayed(answered: Answered, request: IdempotentRequest) -> dict[str, Any]:
    if answered.payload_sha256 != request.payload_sha256:
        raise IdempotencyKeyReused("this Idempotency-Key was used with a different request", field="Idempotency-Key")
    return answered.body
