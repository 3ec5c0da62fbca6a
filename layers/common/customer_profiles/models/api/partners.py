"""A reseller's signed webhooks (Standard Webhooks) and their answers."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from customer_profiles.models.consents import SaleConsents
from customer_profiles.models.domain import ID, MAX_LINES, MAX_PARTNER_ENTITLEMENTS, NAME, ClaimStatus, OrderLine


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
