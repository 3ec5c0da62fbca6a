"""Domain models (pydantic): what the service knows, independent of HTTP and of how it is stored.

Stored shapes are built and read only by `customer_profiles.data.codec`; API shapes are in `models.api`.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    HttpUrl,
    StrictBool,
    StrictInt,
    StringConstraints,
    UrlConstraints,
)

UserStatus = Literal["active", "dormant", "merged", "erasing"]
IdentifierKind = Literal["email", "phone", "card"]
Identifier = tuple[IdentifierKind, str]
# How an identifier is known: only `verified` (the identity provider proved it to this user) binds an active
# user; `staff_captured` (typed at a window) and `partner_asserted` (sent by a reseller) are hints.
Provenance = Literal["verified", "staff_captured", "partner_asserted"]


class Proof(BaseModel):
    """Where a held identifier came from, and when."""

    model_config = ConfigDict(frozen=True)

    provenance: Provenance
    at: str
    org_id: str | None = None  # the org whose staff captured it
    partner_id: str | None = None  # the reseller that asserted it


class Holding(BaseModel):
    """Who holds an identifier, and how it is known."""

    model_config = ConfigDict(frozen=True)

    user_id: str
    provenance: Provenance


class User(BaseModel):
    """A person's platform account (`active`), or a dormant holder of one identifier typed at a window or by a
    reseller, waiting for whoever proves it (`dormant`), or a dormant holder folded into a person (`merged`)."""

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
    activated_at: str | None = None  # a dormant holder became a person's: what it held reached them then
    merged_at: str | None = None  # a dormant holder was folded into a person: what it held reached them then

    def reached_person_at(self) -> str | None:
        """When what this user holds reached a person: never while it is dormant."""
        if self.status == "dormant":
            return None
        if self.status == "merged":
            return self.merged_at or self.updated_at
        return self.activated_at or self.created_at


ProfileOrigin = Literal["white_label", "consumer", "pos", "partner"]
NAME = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
LOCALE = Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$", max_length=35)]


def _not_a_number(value: Any) -> Any:
    """A date is "YYYY-MM-DD": pydantic's lax mode would read the number 0 as 1970-01-01."""
    if isinstance(value, int | float):
        raise ValueError("a date as YYYY-MM-DD")  # noqa: TRY004 - pydantic turns ValueError into a 422 detail
    return value


class ProfileAttributes(BaseModel):
    """Org-specific standard attributes: seeded from the user's claims, then owned by the org."""

    model_config = ConfigDict(extra="forbid")

    given_name: NAME | None = None
    family_name: NAME | None = None
    display_name: NAME | None = None
    picture_url: Annotated[HttpUrl, UrlConstraints(max_length=2048, allowed_schemes=["https"])] | None = None
    birth_date: Annotated[date, BeforeValidator(_not_a_number)] | None = None
    locale: LOCALE | None = None
    marketing_consent: StrictBool | None = None


class IdDocument(BaseModel):
    """The ID the staff checked: its type and last characters only, never the full number."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["passport", "driving_licence", "national_id", "other"]
    last_digits: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9]{2,4}$")]


class CapturedDetails(BaseModel):
    """What the org's staff or a reseller captured: hints, never proof of identity."""

    email: str | None = None
    phone: str | None = None
    id_document: IdDocument | None = None
    # Captured on profiles merged into this one: still found by the org's search.
    other_emails: list[str] = Field(default_factory=list)
    other_phones: list[str] = Field(default_factory=list)


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
    merging_into: str | None = None  # a merge in progress: the profile takes no new children
    # Card fingerprints that point at this profile (never at a user): each has a pointer item of its own.
    cards: list[str] = Field(default_factory=list)
    erased_at: str | None = None  # its person's data removed (the person or the org asked): it only parents
    # When the profile reached its current person, when it came to them whole (a link, an attach); None while
    # its holder is dormant, or when the holder itself became the person (the user's `activated_at` says when).
    reached_at: str | None = None


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
    # Every change of status counts: a move deletes the original only at the version it read.
    version: int = Field(default=1, exclude=True)


class TypedIdentifier(BaseModel):
    """An email or phone a sale was typed with (at a window, or by a reseller): a hint, never proof. Whoever
    first proves one of a sale's typed identifiers gets the sale (docs/decisions.md, identity)."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["email", "phone"]
    value: str
    provenance: Literal["staff_captured", "partner_asserted"]

    @property
    def identifier(self) -> Identifier:
        return (self.kind, self.value)


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
    # What the order was typed with, and when it reached its person (None while a dormant holder has it, or
    # when it reached them with its profile). The service's own bookkeeping: no answer shows them.
    typed: list[TypedIdentifier] = Field(default_factory=list, exclude=True)
    reached_at: str | None = Field(default=None, exclude=True)
    claim_token_hash: str | None = Field(default=None, exclude=True)  # a reseller's order: its claim
    # Who sold it and through what, for the identification report (domain.staff.report): the till's staff subject
    # at a window, the app client of a purchase, the receipt code's hash of an anonymous sale.
    sold_by: str | None = Field(default=None, exclude=True)
    client_id: str | None = Field(default=None, exclude=True)
    receipt_hash: str | None = Field(default=None, exclude=True)


MAX_PARTNER_ENTITLEMENTS = 40  # a claim moves each in one transaction: 2 writes each + the claim, under 100


class Partner(BaseModel):
    partner_id: str
    display_name: str
    org_ids: list[str]
    status: Literal["active", "suspended"] = "active"


def _claimed_was_used(value: Any) -> Any:
    """Claims claimed before the lifecycle had four states were stored as `used`."""
    return "claimed" if value == "used" else value


# open -> claimed (by whoever holds the link or verified the recipient), open or expired -> cancelled (staff,
# the partner, or a new recipient: the claim is replaced), open -> expired (the schedule, after expires_at).
ClaimStatus = Literal["open", "claimed", "cancelled", "expired"]
# What a claim notification asks the notifier for.
ClaimNotice = Literal["ClaimNotificationRequested", "ClaimReminderRequested"]


class Claim(BaseModel):
    claim_id: str
    org_id: str
    partner_id: str
    profile_id: str
    order_id: str
    entitlement_ids: list[str]
    email: str | None = None
    phone: str | None = None
    status: Annotated[ClaimStatus, BeforeValidator(_claimed_was_used)]
    expires_at: str
    created_at: str
    external_order_id: str | None = None  # the partner's own id of the order
    replaced_by: str | None = None  # the claim that took over when the partner changed the recipient
    resends: int = 0  # notifications staff asked for again
    resent_at: str | None = None
    used_by_user_id: str | None = None  # who claimed it, and what they were answered (a retry gets it again)
    used_answer: dict[str, Any] | None = None
    voided_entitlement_ids: list[str] = Field(default_factory=list)  # what its cancellation voided (said again)

    def recipients(self) -> list[Identifier]:
        """The identifiers it is addressed to (none once it is closed: it keeps no contact details)."""
        return [(kind, value) for kind, value in (("email", self.email), ("phone", self.phone)) if value]  # type: ignore[misc]


class Receipt(BaseModel):
    """An anonymous sale's receipt code, kept only as its hash: redeeming it gives the sale's profile (and
    everything it holds) to the person who types it, once, before `expires_at`."""

    org_id: str
    profile_id: str
    order_id: str
    entitlement_ids: list[str] = Field(default_factory=list)  # the sale's: redeeming brings them, nothing else
    status: Literal["open", "used"] = "open"
    expires_at: str
    created_at: str  # the sale's own time (its order's key)
    used_by_user_id: str | None = None
    used_at: str | None = None
    answer: dict[str, Any] | None = None  # what the redemption answered, for the same person's retry


# --- staff memberships ------------------------------------------------------------------------------------
StaffRole = Literal["admin", "pos", "viewer"]


class StaffMembership(BaseModel):
    """An identity provider subject's rights in one org, kept by the service (token claims grant nothing)."""

    org_id: str
    subject: str
    roles: list[StaffRole]
    granted_by: str  # "operator", or the granting admin's subject
    granted_at: str
    version: int = 1


# --- effects the stream drives --------------------------------------------------------------------------
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
    "recount",  # the report's tallies a stream record touches, when updating them failed (domain.staff.report)
]


class PendingEffect(BaseModel):
    """Work the stream drives, written in its cause's transaction and removed only once it is done (and its
    events published): a lost stream record, a parked batch or a crash never loses it; `redrive` replays it."""

    model_config = ConfigDict(frozen=True)

    kind: EffectKind
    effect_id: str  # unique per cause, so the same cause can never leave two
    cause: dict[str, Any]
    created_at: str


# --- an org's settings --------------------------------------------------------------------------------
# How strongly the window asks for an email or phone: `require` refuses an anonymous sale, `suggest` (the
# default) sells and says capturing one was suggested, `off` says nothing.
PosCapture = Literal["off", "suggest", "require"]
DEFAULT_POS_CAPTURE: PosCapture = "suggest"


class OrgSettings(BaseModel):
    """An org's settings, at a version (0: never written, every setting at its default)."""

    model_config = ConfigDict(frozen=True)

    org_id: str
    pos_capture: PosCapture = DEFAULT_POS_CAPTURE
    version: int = 0
    updated_at: str | None = None
