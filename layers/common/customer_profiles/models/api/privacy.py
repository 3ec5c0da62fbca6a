"""Exports: what a person or an org's admin is shown of everything the service holds."""

from __future__ import annotations

from pydantic import BaseModel, Field

from customer_profiles.models.activity import ActivityEntry
from customer_profiles.models.api.claims import ClaimSummary
from customer_profiles.models.api.sales import HistoryEntry
from customer_profiles.models.consents import ConsentStatement
from customer_profiles.models.domain import (
    CapturedDetails,
    Entitlement,
    Order,
    Profile,
    ProfileAttributes,
    ProfileOrigin,
    User,
)


class ProfileExport(BaseModel):
    """A profile as exported or erased: everything it holds, to whom it is shown (the person, the org's admin)."""

    org_id: str
    profile_id: str
    origin: ProfileOrigin
    attributes: ProfileAttributes
    captured: CapturedDetails | None = None
    cards: int = Field(0, description="How many payment cards point at it (fingerprints, never numbers)")
    created_at: str
    updated_at: str
    erased_at: str | None = None
    merged_into: str | None = Field(
        None,
        description="Set on a profile merged into another of the same org (the survivor's id): what it held "
        "moved there",
    )
    consents: list[ConsentStatement] = Field(default_factory=list, description="Each purpose's latest statement")

    @classmethod
    def of(cls, profile: Profile, consents: dict[str, ConsentStatement] | None = None) -> ProfileExport:
        fields = profile.model_dump(include=set(cls.model_fields) - {"cards", "consents"})
        return cls(**fields, cards=len(profile.cards), consents=list((consents or {}).values()))


class IdentifierExport(BaseModel):
    kind: str
    value: str
    provenance: str = Field(description="verified, staff_captured or partner_asserted")
    at: str | None = None


class ActivityExport(BaseModel):
    """One entry of a profile's activity trail, with the profile it is about."""

    org_id: str
    profile_id: str
    entry: ActivityEntry


class PersonExport(BaseModel):
    """`GET /v1/me/export`: the first page holds everything but the history; each page one page of it."""

    user_id: str
    user: User | None = None
    identifiers: list[IdentifierExport] = Field(default_factory=list)
    profiles: list[ProfileExport] = Field(default_factory=list)
    claims: list[ClaimSummary] = Field(default_factory=list)
    history: list[HistoryEntry] = Field(default_factory=list)
    activity: list[ActivityExport] = Field(default_factory=list)
    next_cursor: str | None = None


class OrgProfileExport(BaseModel):
    profile: ProfileExport
    orders: list[Order]
    entitlements: list[Entitlement]
    next_cursor: str | None = None
