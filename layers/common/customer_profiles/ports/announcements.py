"""The events a write announces: published by the stream once the write commits (a pending effect written in
the write's own transaction), so a crash never loses one."""

from __future__ import annotations

from typing import Any

from customer_profiles.models.domain import PendingEffect


def publish_effect(detail_type: str, detail: dict[str, Any], effect_id: str, now: str) -> PendingEffect:
    """An event to publish, known in full when its cause is written."""
    cause = {"detail_type": detail_type, "detail": detail}
    return PendingEffect(kind="publish", effect_id=effect_id, cause=cause, created_at=now)
