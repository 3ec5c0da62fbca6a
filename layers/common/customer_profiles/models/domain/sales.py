"""Sales: orders, their lines and entitlements, the identifiers a sale was typed with, resellers and
anonymous sales' receipts."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StringConstraints

from customer_profiles.models.domain.identity import Identifier

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
    # The person it reached said it is not theirs (POST /v1/me/orders/{order_id}/disown): it went back where
    # a sale typed with what was left would go, for the org to review.
    disowned_at: str | None = Field(default=None, exclude=True)


MAX_PARTNER_ENTITLEMENTS = 40  # a claim moves each in one transaction: 2 writes each + the claim, under 100


class Partner(BaseModel):
    partner_id: str
    display_name: str
    org_ids: list[str]
    status: Literal["active", "suspended"] = "active"


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
