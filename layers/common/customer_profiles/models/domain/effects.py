"""Pending effects: the work the stream drives, written in its cause's transaction."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

EffectKind = Literal[
    "link_user",
    "rekey_profile",
    "announce_activation",
    "publish",
    "notify_claim",
    "pseudonymise_profile",
    "erase_user",  # a person's erasure after its user was marked `erasing` (domain.privacy.privacy)
    "bring_sales",
    "move_entitlements",
    "record_activity",  # a stream record's activity entries, when writing them failed (domain.effects.activity)
    "recount",  # the report's tallies a stream record touches, when updating them failed (domain.effects.tallies)
    "unmerge_profile",  # a merged profile restored, as an admin asked (domain.identity.unmerge)
]


class PendingEffect(BaseModel):
    """Work the stream drives, written in its cause's transaction and removed only once it is done (and its
    events published): a lost stream record, a parked batch or a crash never loses it; `redrive` replays it."""

    model_config = ConfigDict(frozen=True)

    kind: EffectKind
    effect_id: str  # unique per cause, so the same cause can never leave two
    cause: dict[str, Any]
    created_at: str
