"""API models (pydantic): the requests and responses of the HTTP routes, `...Request` / `...Response`."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StringConstraints, model_validator

from customer_profiles.models.activity import ActivityEntry
from customer_profiles.models.consents import ConsentResponse, ConsentStatement, SaleConsents
from customer_profiles.models.domain import (
    ID,
    MAX_ENTITLEMENTS_PER_ORDER,
    MAX_LINES,
    MAX_PARTNER_ENTITLEMENTS,
    NAME,
    CapturedDetails,
    Claim,
    ClaimStatus,
    Entitlement,
    IdDocument,
    Order,
    OrderLine,
    OrgSettings,
    PosCapture,
    Profile,
    ProfileAttributes,
    ProfileOrigin,
    StaffMembership,
    StaffRole,
    User,
    UserStatus,
)


class UserResponse(BaseModel):
    user_id: str
    status: UserStatus
    email: str | None = None
    phone: str | None = None
    created_at: str
    updated_at: str
    profile: ProfileSummary | None = Field(
        default=None, description="The white-label app's org profile, when registering through one."
    )

    @classmethod
    def of(cls, user: User, profile: Profile | None = None) -> UserResponse:
        return cls(
            user_id=user.user_id,
            status=user.status,
            email=user.email,
            phone=user.phone,
            created_at=user.created_at,
            updated_at=user.updated_at,
            profile=ProfileSummary.of(profile) if profile else None,
        )


class ErrorFieldDetail(BaseModel):
    field: str
    message: str


class ErrorDetail(BaseModel):
    code: str = Field(description="What went wrong, for code to branch on (e.g. not_found, invalid_request)")
    message: str
    field: str | None = Field(default=None, description="The input the error is about, when there is one")
    details: list[ErrorFieldDetail] | None = Field(default=None, description="Each invalid input (422)")


class ErrorResponse(BaseModel):
    error: ErrorDetail


class ProfileResponse(BaseModel):
    org_id: str
    profile_id: str
    origin: ProfileOrigin
    attributes: ProfileAttributes
    created_at: str
    updated_at: str
    version: int

    @classmethod
    def of(cls, profile: Profile) -> ProfileResponse:
        return cls(**profile.model_dump(include=set(cls.model_fields)))


class ProfileWithConsentsResponse(ProfileResponse):
    consents: list[ConsentResponse] = Field(description="Each purpose's current statement, or `unknown`")


class ProfileUpdateRequest(BaseModel):
    """A partial update; `version` is the one the caller read (optimistic concurrency)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"version": 1, "attributes": {"display_name": "Dana O.", "birth_date": "1990-04-01"}}]
        },
    )

    version: StrictInt = Field(ge=1)
    attributes: ProfileAttributes


class ProfileSummary(BaseModel):
    org_id: str
    profile_id: str
    origin: ProfileOrigin
    created_at: str

    @classmethod
    def of(cls, profile: Profile) -> ProfileSummary:
        return cls(**profile.model_dump(include=set(cls.model_fields)))


class ProfileListResponse(BaseModel):
    profiles: list[ProfileSummary]
    next_cursor: str | None = None


class OrderRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "currency": "EUR",
                    "payment_method": "card",
                    "lines": [{"kind": "ticket", "item_id": "ev-2027-opening", "quantity": 2, "unit_price": 4500}],
                }
            ]
        },
    )

    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
    payment_method: Literal["card", "wallet", "cash"]
    lines: list[OrderLine] = Field(min_length=1, max_length=MAX_LINES)

    @model_validator(mode="after")
    def _bounded_entitlements(self) -> OrderRequest:
        if sum(line.quantity for line in self.lines) > MAX_ENTITLEMENTS_PER_ORDER:
            raise ValueError(f"an order holds at most {MAX_ENTITLEMENTS_PER_ORDER} entitlements")
        return self


class OrderResponse(BaseModel):
    order: Order
    entitlements: list[Entitlement]
    profile_created: bool


class HistoryEntry(BaseModel):
    type: Literal["order", "entitlement"]
    org_id: str
    created_at: str
    order: Order | None = None
    entitlement: Entitlement | None = None


class HistoryResponse(BaseModel):
    entries: list[HistoryEntry]
    next_cursor: str | None = None


class PosCustomer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id_document: IdDocument | None = None
    given_name: NAME | None = None
    family_name: NAME | None = None
    email: Annotated[str, StringConstraints(max_length=254)] | None = None
    phone: Annotated[str, StringConstraints(max_length=32)] | None = None
    card_fingerprint: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_=+/-]{8,128}$")] | None = Field(
        default=None, description="The payment terminal's card fingerprint (card payments only)."
    )


class PosSaleRequest(OrderRequest):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "currency": "GBP",
                    "payment_method": "cash",
                    "customer": {"email": "dana@example.com", "given_name": "Dana"},
                    "lines": [{"kind": "ticket", "item_id": "ev-2027-opening", "quantity": 2, "unit_price": 4500}],
                }
            ]
        },
    )

    payment_method: Literal["cash", "card"]
    customer: PosCustomer = PosCustomer()
    consents: SaleConsents = None

    @model_validator(mode="after")
    def _card_fingerprint_needs_a_card(self) -> PosSaleRequest:
        if self.customer.card_fingerprint and self.payment_method != "card":
            raise ValueError("a card fingerprint comes with a card payment")
        return self


class OrgProfileResponse(ProfileResponse):
    """A profile as its org sees it: never the user, only whether a registered account holds it."""

    captured: CapturedDetails
    linked_account: bool


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


class PosSaleResponse(BaseModel):
    profile: OrgProfileResponse
    order: Order
    entitlements: list[Entitlement]
    profile_created: bool
    receipt_code: str | None = Field(
        default=None,
        description="Anonymous sales only: print it on the receipt; the customer redeems it in the app "
        "(POST /v1/receipts/{code}) to take the purchase into their account. Shown only in this answer.",
        examples=["7K3M-Q9XD-2HBT-V"],
    )
    capture_suggested: bool | None = Field(
        default=None,
        # Under `off`, and for sales with an email or phone, the answer says nothing about capture.
        exclude_if=lambda value: value is None,
        description="Anonymous sales under the org's `pos_capture: suggest` (the default) only: `true`, asking the "
        "till to capture an email or phone next time. Absent otherwise.",
    )


class AttachIdentifierRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"version": 1, "email": "walk.in@example.com"}]}
    )

    version: StrictInt = Field(ge=1)
    email: Annotated[str, StringConstraints(max_length=254)] | None = None
    phone: Annotated[str, StringConstraints(max_length=32)] | None = None

    @model_validator(mode="after")
    def _one_identifier(self) -> AttachIdentifierRequest:
        if not (self.email or self.phone):
            raise ValueError("give an email or a phone")
        return self


class PartnerBuyer(BaseModel):
    """The reseller's buyer: contact details are hints for the notification, never proof of identity."""

    model_config = ConfigDict(extra="forbid")

    email: Annotated[str, StringConstraints(max_length=254)] | None = None
    phone: Annotated[str, StringConstraints(max_length=32)] | None = None
    given_name: NAME | None = None
    family_name: NAME | None = None

    @model_validator(mode="after")
    def _reachable(self) -> PartnerBuyer:
        if not (self.email or self.phone):
            raise ValueError("the buyer needs an email or a phone to be sent the claim link")
        return self


EXTERNAL_ORDER_ID = Annotated[str, StringConstraints(min_length=1, max_length=128)]


class PartnerOrderRequest(BaseModel):
    """A reseller's order, sent signed (Standard Webhooks) to POST /v1/partners/{partner_id}/orders."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "org_id": "org-demo",
                    "external_order_id": "pd-1001",
                    "currency": "EUR",
                    "buyer": {"email": "buyer@example.com", "given_name": "Bo"},
                    "lines": [{"kind": "ticket", "item_id": "ev-2027-opening", "quantity": 2, "unit_price": 4500}],
                }
            ]
        },
    )

    type: Literal["order.created"] = "order.created"
    org_id: ID
    external_order_id: EXTERNAL_ORDER_ID | None = None
    buyer: PartnerBuyer
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
    lines: list[OrderLine] = Field(min_length=1, max_length=MAX_LINES)
    consents: SaleConsents = None

    @model_validator(mode="after")
    def _bounded_entitlements(self) -> PartnerOrderRequest:
        if sum(line.quantity for line in self.lines) > MAX_PARTNER_ENTITLEMENTS:
            raise ValueError(f"a partner order holds at most {MAX_PARTNER_ENTITLEMENTS} entitlements")
        return self


class PartnerOrderCancelled(BaseModel):
    """`order.cancelled`: the order's unclaimed entitlements are voided and its claim cancelled."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"type": "order.cancelled", "org_id": "org-demo", "external_order_id": "pd-1001"}]
        },
    )

    type: Literal["order.cancelled"]
    org_id: ID
    external_order_id: EXTERNAL_ORDER_ID


class PartnerRecipientChanged(BaseModel):
    """`order.recipient_changed`: the order goes to another buyer (a new claim link; the old one is dead)."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["order.recipient_changed"]
    org_id: ID
    external_order_id: EXTERNAL_ORDER_ID
    buyer: PartnerBuyer


class PartnerOrderResponse(BaseModel):
    order_id: str
    org_id: str
    entitlements: int
    claim_expires_at: str
    claim_id: str | None = Field(default=None, description="The buyer's claim (absent in answers before claim ids)")


class PartnerEventResponse(BaseModel):
    type: str
    external_order_id: str
    order_id: str
    claim_id: str = Field(description="The order's claim now (a new one after a recipient change)")
    claim_status: ClaimStatus
    claim_expires_at: str
    voided: list[str] = Field(default_factory=list, description="Entitlements this cancellation voided")
    not_cancellable: list[str] = Field(default_factory=list, description="Entitlements claimed already: kept")


class ClaimStaffResponse(BaseModel):
    """A claim as staff of its org see it after a resend or a cancellation (never its token)."""

    claim_id: str
    org_id: str
    order_id: str
    status: ClaimStatus
    expires_at: str
    entitlements: int
    resends: int = 0
    voided: list[str] = Field(default_factory=list)

    @classmethod
    def of(cls, claim: Claim, voided: list[str] | None = None) -> ClaimStaffResponse:
        return cls(
            claim_id=claim.claim_id,
            org_id=claim.org_id,
            order_id=claim.order_id,
            status=claim.status,
            expires_at=claim.expires_at,
            entitlements=len(claim.entitlement_ids),
            resends=claim.resends,
            voided=voided or [],
        )


class ClaimResponse(BaseModel):
    org_id: str
    profile_id: str
    entitlements: list[Entitlement]


class ClaimSummary(BaseModel):
    """An open claim as its recipient sees it in `GET /v1/me/claims` (never its token)."""

    claim_id: str
    org_id: str
    partner_id: str
    order_id: str
    entitlements: int = Field(description="How many entitlements the claim holds")
    addressed_to: list[Literal["email", "phone"]] = Field(description="Which of your identifiers it was sent to")
    status: Literal["open"] = "open"
    expires_at: str
    created_at: str

    @classmethod
    def of(cls, claim: Claim) -> ClaimSummary:
        return cls(
            claim_id=claim.claim_id,
            org_id=claim.org_id,
            partner_id=claim.partner_id,
            order_id=claim.order_id,
            entitlements=len(claim.entitlement_ids),
            addressed_to=[kind for kind, _ in claim.recipients()],
            expires_at=claim.expires_at,
            created_at=claim.created_at,
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


class HeldIdentifier(BaseModel):
    kind: Literal["email", "phone"]
    value: str
    provenance: str = Field(description="verified: the identity provider proved it to you")
    verified_at: str = Field(description="When you proved it")


class IdentifierListResponse(BaseModel):
    identifiers: list[HeldIdentifier] = Field(
        description="Every identifier your account holds (a sale typed with one of them comes to you), "
        "whatever your profile shows; release one with DELETE /v1/me/identifiers/{kind}/{value}"
    )


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


class ClaimListResponse(BaseModel):
    claims: list[ClaimSummary]
    next_cursor: str | None = None


class ReceiptRedemptionResponse(BaseModel):
    org_id: str
    profile_id: str = Field(description="The person's profile in the org, which now holds the purchase")
    order_id: str
    profile_created: bool = Field(description="A profile was made for the person in the org to hold the purchase")
    merged: bool = Field(description="The purchase joined the person's existing profile in the org")


# --- staff memberships ------------------------------------------------------------------------------------
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


# --- an org's settings ---------------------------------------------------------------------------------
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


# --- the identification report -------------------------------------------------------------------------
class HeldFigures(BaseModel):
    """The sales by who holds them now."""

    person: int = Field(description="Reached a person (bought in an app, or proved, redeemed, claimed since)")
    dormant: int = Field(description="Held by a dormant holder of an email or phone nobody has proved yet")
    anonymous_with_receipt: int = Field(description="Nobody's: sold without email or phone, a receipt code printed")
    anonymous: int = Field(description="Nobody's, and no receipt code")
    erased: int = Field(description="Their customer was erased since")


class ReceiptFigures(BaseModel):
    issued: int = Field(description="Anonymous window sales given a receipt code")
    redeemed: int = Field(description="Of those, codes redeemed in the app")


class ClaimFigures(BaseModel):
    """A reseller's claims, by the period they were opened in."""

    opened: int
    accepted: int
    cancelled: int
    readdressed: int = Field(description="Cancelled and replaced by a claim to a new buyer (the partner's change)")
    expired: int


class ReportFigures(BaseModel):
    sales: int
    tickets: int
    held: HeldFigures
    receipt_codes: ReceiptFigures
    claims: ClaimFigures
    dormant_holders_activated: int = Field(
        description="Sales typed with an email or phone whose dormant holder became a person after the sale "
        "(signed up with it verified, or proved it): counted in the sale's period"
    )
    median_seconds_to_activation: int | None = Field(
        description="Of those, the median time from sale to activation, within 9.1% (log buckets; "
        "docs/decisions.md section 23); null for none"
    )

    def flat(self) -> dict[str, int | None]:
        """One level, as CSV columns name them (held_person, claims_opened, receipt_codes_issued...)."""
        flat: dict[str, int | None] = {}
        for name, value in self.model_dump().items():
            if isinstance(value, dict):
                flat.update({f"{name}_{inner}": number for inner, number in value.items()})
            else:
                flat[name] = value
        return flat


class ReportRow(ReportFigures):
    period: str = Field(description="2026-03-14 (day), 2026-W11 (ISO week), 2026-03 (month)", examples=["2026-03-14"])
    first_day: date = Field(description="The period's first day within the report's range")
    last_day: date = Field(description="The period's last day within the report's range")
    channel: Literal["window", "consumer_app", "white_label", "reseller"]
    staff: str | None = Field(default=None, description="by_staff: the till's staff subject (window sales)")


class IdentificationReportResponse(BaseModel):
    """How well the org knows its customers: per period (UTC days) and channel, or per period and till.
    Every figure is counted in its sale's period (a claim: the period it was opened)."""

    org_id: str
    first_day: date
    last_day: date
    by: Literal["day", "week", "month"]
    by_staff: bool
    time_zone: Literal["UTC"] = "UTC"
    rows: list[ReportRow] = Field(
        description="By period, then channel (every channel, zeros included); by staff: the tills that sold"
    )
    totals: ReportFigures = Field(description="This page's rows added up")
    next_cursor: str | None = Field(default=None, description="Pass as `cursor` for the next periods; null on the last")
