"""Lineage: what one move took from a profile (and its user) to another, kept for the deployment's retention
time (`LINEAGE_RETENTION_DAYS`, 180 days by default) so that a wrong link, merge or sale can be undone
(docs/decisions.md, undo)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from customer_profiles.models.consents import ConsentStatement
from customer_profiles.models.domain.sales import TypedIdentifier

# How it moved: a sale typed with identifiers placed (with the holder of one), a link (a dormant holder's profile
# to its person), a merge (a profile into another of its person's), a proof (a sale typed with an identifier its
# person proved), a claim accepted, a receipt code redeemed, a staff attach; and the undoing moves (unmerge,
# disown, unlink), kept too.
MoveKind = Literal["sale", "link", "merge", "proof", "claim", "receipt_code", "attach", "unmerge", "disown", "unlink"]
# What moved: one sale (its order and entitlements), a whole profile, or (part of) a profile merged into another.
MoveSubject = Literal["order", "profile", "merge"]


class Move(BaseModel):
    """One move, kept in the partition of the profile it concerns (`profile_id`): the profile a sale moved to,
    the profile that changed hands, the profile merged into another."""

    model_config = ConfigDict(frozen=True)

    move_id: str  # time-ordered: a profile's moves of one subject sort oldest first
    org_id: str
    profile_id: str
    subject: MoveSubject
    kind: MoveKind
    at: str
    by: dict[str, str] = Field(default_factory=dict)  # the actor's stamp (models.activity.Actor)
    order_id: str | None = None  # subject "order"
    from_profile_id: str | None = None
    from_user_id: str | None = None
    to_profile_id: str | None = None
    to_user_id: str | None = None
    proof: str | None = None  # the kind of identifier that moved it (email, phone), or claim, receipt_code, staff
    # What moved with it: children by id, every identifier a sale was typed with (so that an undo can give it
    # to whoever proves another one), what a survivor took over from a merged profile.
    order_ids: list[str] = Field(default_factory=list)
    entitlement_ids: list[str] = Field(default_factory=list)
    typed: list[TypedIdentifier] = Field(default_factory=list)
    emails: list[str] = Field(default_factory=list)
    phones: list[str] = Field(default_factory=list)
    cards: list[str] = Field(default_factory=list)
    consents: list[ConsentStatement] = Field(default_factory=list)  # a merged profile's statements, as they were
    replaced_consents: list[ConsentStatement] = Field(default_factory=list)  # the survivor's that they beat
    reason: str | None = None  # a disown's, as the person gave it
    expires_at: str | None = None  # when the retention time passes (read from the item's TTL)
