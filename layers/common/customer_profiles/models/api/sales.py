"""Sales: an app's order, a window's sale, a person's history, a receipt code's redemption."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from customer_profiles.models.api.staff import OrgProfileResponse
from customer_profiles.models.consents import SaleConsents
from customer_profiles.models.domain import (
    MAX_ENTITLEMENTS_PER_ORDER,
    MAX_LINES,
    NAME,
    Entitlement,
    IdDocument,
    Order,
    OrderLine,
)


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


class ReceiptRedemptionResponse(BaseModel):
    org_id: str
    profile_id: str = Field(description="The person's profile in the org, which now holds the purchase")
    order_id: str
    profile_created: bool = Field(description="A profile was made for the person in the org to hold the purchase")
    merged: bool = Field(description="The purchase joined the person's existing profile in the org")


class DisownRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"reason": "I was never at this venue; not my tickets"}]}
    )

    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)] = Field(
        description="Why the order is not yours: the org reviews it"
    )


class DisownResponse(BaseModel):
    """The order left you: it went back to its org, for whoever proves another email or phone it was typed
    with, flagged for the org's review."""

    order_id: str
    org_id: str
    disowned_at: str
