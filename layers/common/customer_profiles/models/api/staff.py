"""The org's console: its customers' profiles and their activity, its staff, its settings."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from customer_profiles.models.activity import ActivityEntry
from customer_profiles.models.api.identity import ProfileResponse
from customer_profiles.models.consents import ConsentResponse
from customer_profiles.models.domain import (
    CapturedDetails,
    Entitlement,
    Order,
    OrgSettings,
    PosCapture,
    StaffMembership,
    StaffRole,
)


class OrgProfileResponse(ProfileResponse):
    """A profile as its org sees it: never the user, only whether a registered account holds it."""

    captured: CapturedDetails
    linked_account: bool
    needs_review: bool = Field(
        default=False,
        description="A customer disowned one of its orders into it, or an admin unlinked it from an account: "
        "worth a look",
    )


class UnmergeResponse(OrgProfileResponse):
    """A merged profile an admin asked back: still `merged_into` its survivor until its unmerge is done."""

    merged_into: str | None = Field(description="The profile it is merged into until the unmerge is done")
    unmerging_at: str | None = Field(description="When the unmerge was asked for")


class OrgProfileDetailResponse(BaseModel):
    """The profile with one page of its orders and entitlements, newest first (at most `limit` of them in all)."""

    profile: OrgProfileResponse
    orders: list[Order] = Field(description="This page's orders, newest first")
    entitlements: list[Entitlement] = Field(description="This page's entitlements, newest first")
    next_cursor: str | None = Field(
        default=None, description="Pass as `cursor` for the next page; null on the last page"
    )
    consents: list[ConsentResponse] = Field(
        default_factory=list, description="Each purpose's current statement with who captured it, or `unknown`"
    )


class OrgProfileListResponse(BaseModel):
    profiles: list[OrgProfileResponse]
    next_cursor: str | None = None


class StaffMemberRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"roles": ["pos", "viewer"]}]})

    roles: list[StaffRole] = Field(min_length=1, max_length=3, description="admin, pos and/or viewer")


class StaffMemberResponse(BaseModel):
    org_id: str
    subject: str = Field(description="The identity provider's subject (sub claim) of the staff member")
    roles: list[StaffRole]
    granted_by: str = Field(description="The subject of the admin who granted the roles, or `operator`")
    granted_at: str

    @classmethod
    def of(cls, membership: StaffMembership) -> StaffMemberResponse:
        return cls.model_validate(membership.model_dump(exclude={"version"}))


class StaffListResponse(BaseModel):
    staff: list[StaffMemberResponse]
    next_cursor: str | None = None


class ProfileActivityResponse(BaseModel):
    """What happened to a profile, newest first: kinds, field names, ids and actors as roles and staff
    subjects; never a personal value or a user id."""

    entries: list[ActivityEntry] = Field(description="This page's entries, newest first")
    next_cursor: str | None = Field(
        default=None, description="Pass as `cursor` for the next page; null on the last page"
    )


class OrgSettingsResponse(BaseModel):
    """An org's settings. Never written: every setting at its default, version 0."""

    org_id: str
    pos_capture: PosCapture = Field(
        description="How strongly the window asks for an email or phone: `off` (nothing said), `suggest` (the "
        "default: an anonymous sale's answer says `capture_suggested`), `require` (an anonymous sale is a 422 "
        "`identifier_required`; a card does not count)"
    )
    version: int = Field(description="Send it back with a change; 0 until the settings are first changed")
    updated_at: str | None = None

    @classmethod
    def of(cls, settings: OrgSettings) -> OrgSettingsResponse:
        return cls(**settings.model_dump())


class OrgSettingsRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"version": 0, "pos_capture": "require"}]}
    )

    version: StrictInt = Field(ge=0, description="The version read (0: never changed); another -> 409")
    pos_capture: PosCapture


class UnlinkRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"version": 3}]})

    version: StrictInt = Field(ge=1, description="The profile's version as read; another -> 409")
