"""Keys in the requests table (idempotent answers, attempt counters) and an answer's reference."""

from __future__ import annotations

import hashlib

from customer_profiles.data.keys.base import Key

ANSWER_REF_SK_PREFIX = "ANSWER#"  # an idempotent answer telling of the profile (sorts before CONSENT#)


def request_key(operation: str, caller: str, idempotency_key: str) -> Key:
    """An idempotent request's answer, in the requests table (its `id`, hashed: the parts are unbounded
    client strings). The prefix keeps it apart from any record of another kind in that table."""
    digest = hashlib.sha256("\n".join((operation, caller, idempotency_key)).encode()).hexdigest()
    return {"id": f"request#{digest}"}


def answer_ref_key(about: str, answer_id: str) -> Key:
    """In the partition of the profile an idempotent answer tells of (`about`): where its erasure finds it."""
    return {"pk": about, "sk": f"{ANSWER_REF_SK_PREFIX}{answer_id}"}


def attempts_key(action: str, user_id: str, window: int) -> Key:
    """A user's failed attempts at `action` in one time window, in the requests table (its TTL removes the
    counter once the window is over; the profiles table has no TTL)."""
    return {"id": f"attempts#{action}#{user_id}#{window}"}
