"""A profile's activity trail: who changed an item (stamped by its writer) and what happened to a profile
(derived from the table's stream by `domain.effects.trail`).

Entries hold kinds, ids, field names and enumerations only, never a personal value (no email, phone, name,
user id): erasure never has to find them, and staff may read them all (docs/decisions.md, section 22).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

ActorKind = Literal["staff", "customer", "partner", "system"]


class Actor(BaseModel):
    """Who made a change, as staff may see it: a role and a staff subject, a partner, the customer (never
    their user id) or the service itself. Writers stamp it on the items they write as `changed_by`."""

    model_config = ConfigDict(frozen=True)

    kind: ActorKind
    subject: str | None = None  # staff only: the identity provider subject of the staff member
    role: str | None = None  # staff only: the role the change was made with
    partner_id: str | None = None

    @classmethod
    def staff(cls, subject: str, role: str) -> Actor:
        return cls(kind="staff", subject=subject, role=role)

    @classmethod
    def partner(cls, partner_id: str) -> Actor:
        return cls(kind="partner", partner_id=partner_id)

    def stamp(self) -> dict[str, str]:
        """As stored on an item (`changed_by`)."""
        return self.model_dump(exclude_none=True)

    @classmethod
    def of_stamp(cls, stamp: Any) -> Actor | None:
        """The actor an item's `changed_by` names; None when it names none (or nothing we can read)."""
        if not isinstance(stamp, dict):
            return None
        try:
            return cls.model_validate({k: v for k, v in stamp.items() if k in cls.model_fields})
        except ValidationError:
            return None


CUSTOMER = Actor(kind="customer")
SYSTEM = Actor(kind="system")

ActivityKind = Literal[
    "created",
    "edited",
    "identifier_attached",
    "identifier_forgotten",
    "linked",
    "merged_into",
    "merged_from",
    "order_placed",
    "entitlement_voided",
    "claim_created",
    "claim_claimed",
    "claim_cancelled",
    "claim_expired",
    "claim_readdressed",
    "consent_changed",
    "erased",
    "moved",  # lineage: a link, merge, proof, claim, redemption or attach, and their undoing
    "settings_changed",  # on the org's own trail (GET /v1/orgs/{org_id}/activity)
]


class ActivityEntry(BaseModel):
    """One thing that happened to a profile. Only the fields of its kind are set."""

    model_config = ConfigDict(frozen=True)

    kind: ActivityKind
    at: str
    actor: Actor | None = None  # None: the writer did not say (items written before actors were stamped)
    origin: str | None = Field(default=None, description="created: pos, partner, consumer or white_label")
    fields: list[str] | None = Field(default=None, description="edited: the attribute names that changed")
    identifier_kinds: list[str] | None = Field(
        default=None, description="identifier_attached, identifier_forgotten: email, phone"
    )
    other_profile_id: str | None = Field(
        default=None, description="merged_into / merged_from: the other profile; moved: where it moved from (or to)"
    )
    move: str | None = Field(
        default=None,
        description="moved: link, merge, proof, claim, receipt_code, attach, unmerge, disown or unlink",
    )
    proof: str | None = Field(
        default=None, description="moved: what moved it (email, phone, identifier, claim, receipt_code, staff)"
    )
    order_id: str | None = None
    entitlement_id: str | None = None
    claim_id: str | None = None
    purpose: str | None = Field(default=None, description="consent_changed: the purpose (marketing_email...)")
    status: str | None = Field(default=None, description="consent_changed: the statement's status")
    source: str | None = Field(default=None, description="consent_changed: where it was captured")
    settings: dict[str, str] | None = Field(
        default=None, description="settings_changed: each changed setting's new value"
    )
    previous: dict[str, str] | None = Field(
        default=None, description="settings_changed: each changed setting's value before"
    )
