"""Domain and API models (pydantic). Stored shapes are built and read only by `customer_profiles.dal`."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    StrictBool,
    StrictInt,
    StringConstraints,
    UrlConstraints,
    model_validator,
)

UserStatus = Literal["active", "dormant", "merged"]


class User(BaseModel):
    model_config = ConfigDict(frozen=True)

    user_id: str
    status: UserStatus
    subject: str | None = None
    email: str | None = None
    phone: str | None = None
    merged_into: str | None = None
    created_at: str
    updated_at: str
    version: int = 1


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


class ErrorDetail(BaseModel):
    code: str
    message: str
    field: str | None = None


class ErrorResponse(BaseModel):
    error: ErrorDetail


# --- profiles ------------------------------------------------------------------------------------
ProfileOrigin = Literal["white_label", "consumer", "pos", "partner"]
NAME = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
LOCALE = Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$", max_length=35)]


class ProfileAttributes(BaseModel):
    """Org-specific standard attributes: seeded from the user's claims, then owned by the org."""

    model_config = ConfigDict(extra="forbid")

    given_name: NAME | None = None
    family_name: NAME | None = None
    display_name: NAME | None = None
    picture_url: Annotated[HttpUrl, UrlConstraints(max_length=2048, allowed_schemes=["https"])] | None = None
    birth_date: date | None = None
    locale: LOCALE | None = None
    marketing_consent: StrictBool | None = None


class Profile(BaseModel):
    model_config = ConfigDict(frozen=True)

    org_id: str
    profile_id: str
    user_id: str | None = None
    origin: ProfileOrigin
    attributes: ProfileAttributes = ProfileAttributes()
    captured: CapturedDetails | None = None
    created_at: str
    updated_at: str
    version: int = 1
    merged_into: str | None = None


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


class ProfileUpdateRequest(BaseModel):
    """A partial update; `version` is the one the caller read (optimistic concurrency)."""

    model_config = ConfigDict(extra="forbid")

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


# --- orders and entitlements -------------------------------------------------------------------
ID = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")]
MAX_LINES = 20
MAX_QUANTITY = 10
MAX_ENTITLEMENTS_PER_ORDER = 50  # a DynamoDB transaction takes 100 items; this leaves room for the rest


class OrderLine(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["ticket", "product"]
    item_id: ID = Field(description="The event id for a ticket, the product id for a product.")
    quantity: StrictInt = Field(ge=1, le=MAX_QUANTITY)
    unit_price: StrictInt = Field(ge=0, le=10_000_000, description="In the currency's minor unit (cents).")


class OrderRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
    payment_method: Literal["card", "wallet", "cash"]
    lines: list[OrderLine] = Field(min_length=1, max_length=MAX_LINES)

    @model_validator(mode="after")
    def _bounded_entitlements(self) -> OrderRequest:
        if sum(line.quantity for line in self.lines) > MAX_ENTITLEMENTS_PER_ORDER:
            raise ValueError(f"an order holds at most {MAX_ENTITLEMENTS_PER_ORDER} entitlements")
        return self


EntitlementStatus = Literal["active", "pending_claim", "void"]
OrderChannel = Literal["app", "pos", "partner"]


class Entitlement(BaseModel):
    entitlement_id: str
    org_id: str
    profile_id: str
    order_id: str
    kind: Literal["ticket", "product"]
    item_id: str
    status: EntitlementStatus
    created_at: str


class Order(BaseModel):
    order_id: str
    org_id: str
    profile_id: str
    channel: OrderChannel
    currency: str
    payment_method: str
    lines: list[OrderLine]
    total: int
    created_at: str


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


# --- point of sale and the org staff API ------------------------------------------------------------
class IdDocument(BaseModel):
    """The ID the staff checked: its type and last characters only, never the full number."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["passport", "driving_licence", "national_id", "other"]
    last_digits: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9]{2,4}$")]


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
    payment_method: Literal["cash", "card"]
    customer: PosCustomer = PosCustomer()

    @model_validator(mode="after")
    def _card_fingerprint_needs_a_card(self) -> PosSaleRequest:
        if self.customer.card_fingerprint and self.payment_method != "card":
            raise ValueError("a card fingerprint comes with a card payment")
        return self


class CapturedDetails(BaseModel):
    """What the org's staff or a reseller captured: hints, never proof of identity."""

    email: str | None = None
    phone: str | None = None
    id_document: IdDocument | None = None


class OrgProfileResponse(ProfileResponse):
    """A profile as its org sees it: never the user, only whether a registered account holds it."""

    captured: CapturedDetails
    linked_account: bool


class OrgProfileDetailResponse(BaseModel):
    profile: OrgProfileResponse
    orders: list[Order]
    entitlements: list[Entitlement]


class OrgProfileListResponse(BaseModel):
    profiles: list[OrgProfileResponse]
    next_cursor: str | None = None


class PosSaleResponse(BaseModel):
    profile: OrgProfileResponse
    order: Order
    entitlements: list[Entitlement]
    profile_created: bool


class AttachIdentifierRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: StrictInt = Field(ge=1)
    email: Annotated[str, StringConstraints(max_length=254)] | None = None
    phone: Annotated[str, StringConstraints(max_length=32)] | None = None

    @model_validator(mode="after")
    def _one_identifier(self) -> AttachIdentifierRequest:
        if not (self.email or self.phone):
            raise ValueError("give an email or a phone")
        return self


Profile.model_rebuild()


# --- partners, webhooks, claims --------------------------------------------------------------------
MAX_PARTNER_ENTITLEMENTS = 40  # a claim moves each in one transaction: 2 writes each + the claim, under 100


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


class PartnerOrderRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    org_id: ID
    external_order_id: Annotated[str, StringConstraints(min_length=1, max_length=128)] | None = None
    buyer: PartnerBuyer
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
    lines: list[OrderLine] = Field(min_length=1, max_length=MAX_LINES)

    @model_validator(mode="after")
    def _bounded_entitlements(self) -> PartnerOrderRequest:
        if sum(line.quantity for line in self.lines) > MAX_PARTNER_ENTITLEMENTS:
            raise ValueError(f"a partner order holds at most {MAX_PARTNER_ENTITLEMENTS} entitlements")
        return self


class PartnerOrderResponse(BaseModel):
    order_id: str
    org_id: str
    entitlements: int
    claim_expires_at: str


class Partner(BaseModel):
    partner_id: str
    display_name: str
    org_ids: list[str]
    status: Literal["active", "suspended"] = "active"


class Claim(BaseModel):
    claim_id: str
    org_id: str
    partner_id: str
    profile_id: str
    order_id: str
    entitlement_ids: list[str]
    email: str | None = None
    phone: str | None = None
    status: Literal["open", "used"]
    expires_at: str
    created_at: str


class ClaimResponse(BaseModel):
    org_id: str
    profile_id: str
    entitlements: list[Entitlement]
