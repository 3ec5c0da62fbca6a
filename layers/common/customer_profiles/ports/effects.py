"""The effects family's ports: the events a write announces, published by the stream once the write commits."""

from __future__ import annotations

from typing import Any

from customer_profiles.models.domain import PendingEffect


def publish_effect(detail_type: str, detail: dict[str, Any], effect_id: str, now: str) -> PendingEffect:
    """A pending effect that publishes an event, known in full when its cause is written (with the cause)."""
    cause = {"detail_type": detail_type, "detail": detail}
    return PendingEffect(kind="publish", effect_id=effect_id, cause=cause, created_at=now)
