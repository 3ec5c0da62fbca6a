"""Orders posted by third-party resellers as signed webhooks (Standard Webhooks).

The webhook function's edge checks the signature on the raw body and parses it (functions/partner_webhooks/
signed_messages.py); this module receives the verified message. Its `type` says what it is: an order
(`order.created`, or no type), or an event about one identified by its `external_order_id`
(`order.cancelled`, `order.recipient_changed`: domain/claims/claim_lifecycle.py). The `webhook-id` makes a
delivery exactly once, and the partner's `external_order_id` makes an order exactly once whatever
webhook-id carries it: both are written in the transaction of what the message did, so redeliveries
(sequential or concurrent) find them and get the first answer back; the same id with another body (or
order) is a 409.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from customer_profiles.clock import new_id, utc_now
from customer_profiles.domain.claims import claim_lifecycle
from customer_profiles.domain.claims.claim_tokens import claim_token, token_hash
from customer_profiles.domain.privacy import consents
from customer_profiles.domain.sales.sale_plan import Customer, PlannedSale, plan_sale
from customer_profiles.domain.staff.org_console import normalised_identifiers
from customer_profiles.errors import Forbidden, NotFound, StateConflict, Unauthenticated
from customer_profiles.models.activity import Actor
from customer_profiles.models.api import (
    PartnerEventResponse,
    PartnerOrderCancelled,
    PartnerOrderRequest,
    PartnerOrderResponse,
    PartnerRecipientChanged,
)
from customer_profiles.models.domain import Claim, Partner, Proof
from customer_profiles.ports.claims import Delivery
from customer_profiles.ports.sales import PartnerOrderWrite, PartnerWebhooks
from customer_profiles.ports.staff import OrgRegions
from customer_profiles.retry import on_concurrent_write

PartnerMessage = PartnerOrderRequest | PartnerOrderCancelled | PartnerRecipientChanged
Outcome = Literal["created", "applied", "redelivered"]
TokenKey = Callable[[], bytes]  # the claim-token key, read when a claim is made or re-addressed


@dataclass(frozen=True)
class SignedMessage:
    """A reseller's message whose signature was verified: its delivery's id, its body's hash, what it says."""

    webhook_id: str
    body_sha256: str
    message: PartnerMessage


def active_partner(store: PartnerWebhooks, partner_id: str) -> Partner:
    """The partner a message claims to come from, if it may send any (else as unsigned: nothing says which)."""
    partner = store.get_partner(partner_id)
    if partner is None or partner.status != "active":
        raise Unauthenticated(f"the request is not signed by partner {partner_id}")
    return partner


def accept_partner_order(
    store: PartnerWebhooks,
    partner: Partner,
    signed: SignedMessage,
    *,
    claim_days: int,
    token_key: TokenKey,
) -> tuple[dict, Outcome]:
    """Act on a reseller's verified message (an order, or an event about one); returns our answer and whether
    the order was created, the event applied, or this was a redelivery (the first answer)."""
    webhook_id, body_sha256, message = signed.webhook_id, signed.body_sha256, signed.message

    def attempt() -> tuple[dict, Outcome]:
        # A concurrent delivery of the same id or order (or a concurrent sale) may win: each attempt reads again.
        delivered, ordered = store.earlier_deliveries(partner.partner_id, webhook_id, message.external_order_id)
        if delivered is not None:
            if delivered["body_sha256"] != body_sha256:
                raise StateConflict("this webhook-id was delivered with another body", field="webhook-id")
            return delivered["response"], "redelivered"
        _require_allowed(partner, message.org_id)
        if isinstance(message, PartnerOrderRequest):
            delivery_of_order = (webhook_id, body_sha256)
            return _order_created(
                store, partner, delivery_of_order, message, ordered, claim_days=claim_days, token_key=token_key
            )
        if ordered is None or ordered.get("org_id") != message.org_id or "claim_token_hash" not in ordered:
            raise NotFound("no order with this external_order_id", field="external_order_id")
        delivery = functools.partial(Delivery, partner.partner_id, webhook_id, body_sha256)
        changed = _order_changed(store, message, ordered, delivery, claim_days=claim_days, token_key=token_key)
        return changed, "applied"

    return on_concurrent_write(attempt, give_up="the order kept conflicting with concurrent deliveries; retry")


def _order_created(
    store: PartnerWebhooks,
    partner: Partner,
    delivery: tuple[str, str],
    request: PartnerOrderRequest,
    ordered: dict | None,
    *,
    claim_days: int,
    token_key: TokenKey,
) -> tuple[dict, Outcome]:
    # The order, not its bytes; an order without consents is hashed without the field, as its hash was recorded.
    unstated = {"consents"} if request.consents is None else None
    order_sha256 = hashlib.sha256(request.model_dump_json(exclude=unstated).encode()).hexdigest()
    if ordered is not None:  # the partner sent the order again under a new webhook-id
        if ordered.get("order_sha256") != order_sha256:
            raise StateConflict("this external_order_id was recorded with another order", field="external_order_id")
        return ordered["response"], "redelivered"
    recorded = (*delivery, order_sha256)
    return _record(store, partner, recorded, request, claim_days=claim_days, token_key=token_key), "created"


def _order_changed(
    store: PartnerWebhooks,
    message: PartnerOrderCancelled | PartnerRecipientChanged,
    ordered: dict,
    delivery: Callable[[dict], Delivery],
    *,
    claim_days: int,
    token_key: TokenKey,
) -> dict:
    """A partner's event about one of its orders: cancelled (what is still pending is voided, what was
    claimed is reported as not cancellable) or re-addressed (a new claim replaces the old one)."""
    hashed = ordered["claim_token_hash"]
    order_id = ordered["response"]["order_id"]

    def answer(claim: Claim, voided: list[str] = [], not_cancellable: list[str] = []) -> dict:  # noqa: B006
        return PartnerEventResponse(
            type=message.type,
            external_order_id=message.external_order_id,
            order_id=order_id,
            claim_id=claim.claim_id,
            claim_status=claim.status,
            claim_expires_at=claim.expires_at,
            voided=voided,
            not_cancellable=not_cancellable,
        ).model_dump(mode="json")

    if isinstance(message, PartnerOrderCancelled):

        def cancelled(done: claim_lifecycle.Cancellation) -> dict:
            return answer(done.claim, done.voided, done.not_cancellable)

        return cancelled(claim_lifecycle.cancel(store, hashed, delivery=lambda done: delivery(cancelled(done))))
    identifiers = dict(
        normalised_identifiers(
            message.buyer.email,
            message.buyer.phone,
            default_region=store.org_default_region(message.org_id) if message.buyer.phone else None,
            field_prefix="buyer.",
        )
    )
    replacement = claim_lifecycle.readdress(
        store,
        hashed,
        email=identifiers.get("email"),
        phone=identifiers.get("phone"),
        claim_days=claim_days,
        token_key=token_key(),
        delivery=lambda claim: delivery(answer(claim)),
    )
    return answer(replacement)


def _require_allowed(partner: Partner, org_id: str) -> None:
    if org_id not in partner.org_ids:
        raise Forbidden(f"partner {partner.partner_id} may not sell for org {org_id}")


def _record(
    store: PartnerWebhooks,
    partner: Partner,
    recorded: tuple[str, str, str],
    request: PartnerOrderRequest,
    *,
    claim_days: int,
    token_key: TokenKey,
) -> dict:
    """The order, its claim and what makes it exactly once: (webhook id, body hash, order hash)."""
    webhook_id, body_sha256, order_sha256 = recorded
    customer = _buyer(store, request)
    planned = plan_sale(
        store,
        request.org_id,
        customer,
        request,
        payment_method="partner",  # paid at the reseller
        channel="partner",
        origin="partner",
        proof=Proof(provenance="partner_asserted", at=utc_now(), partner_id=partner.partner_id),
        entitlement_status="pending_claim",
    )
    said = consents.statements(
        request.consents or [], source="partner", actor_partner_id=partner.partner_id, field_prefix="consents"
    )
    if not planned.holder_active:  # a reseller's word never speaks for a person who holds the profile
        planned.write.consents = consents.newer_than_stored(
            store, planned.profile, said, new_profile=planned.profile_created
        )
    planned.write.changed_by = Actor.partner(partner.partner_id)
    claim = _claim_of(planned, partner, request, dict(customer.identifiers), claim_days=claim_days)
    response = PartnerOrderResponse(
        order_id=planned.write.order.order_id,
        org_id=request.org_id,
        entitlements=len(planned.write.entitlements),
        claim_expires_at=claim.expires_at,
        claim_id=claim.claim_id,
    ).model_dump(mode="json")
    token_hash_of_claim = token_hash(claim_token(claim.claim_id, token_key()))
    planned.write.order = planned.write.order.model_copy(update={"claim_token_hash": token_hash_of_claim})
    store.write_partner_order(
        PartnerOrderWrite(
            sale=planned.write,
            partner_id=partner.partner_id,
            webhook_id=webhook_id,
            body_sha256=body_sha256,
            response=response,
            claim=claim,
            claim_token_hash=token_hash_of_claim,
            external_order_id=request.external_order_id,
            order_sha256=order_sha256,
        )
    )
    return response


def _buyer(store: OrgRegions, request: PartnerOrderRequest) -> Customer:
    """The buyer as the reseller sent them, their identifiers normalised."""
    buyer = request.buyer
    identifiers = normalised_identifiers(
        buyer.email,
        buyer.phone,
        default_region=store.org_default_region(request.org_id) if buyer.phone else None,
        field_prefix="buyer.",
    )
    return Customer(identifiers=identifiers, given_name=buyer.given_name, family_name=buyer.family_name)


def _claim_of(
    planned: PlannedSale,
    partner: Partner,
    request: PartnerOrderRequest,
    contact: dict[str, str],
    *,
    claim_days: int,
) -> Claim:
    """The claim the buyer accepts the sale's pending entitlements by, addressed to what the reseller sent."""
    now = utc_now()
    return Claim(
        claim_id=new_id(),
        org_id=request.org_id,
        partner_id=partner.partner_id,
        profile_id=planned.profile.profile_id,
        order_id=planned.write.order.order_id,
        entitlement_ids=[e.entitlement_id for e in planned.write.entitlements],
        email=contact.get("email"),
        phone=contact.get("phone"),
        status="open",
        external_order_id=request.external_order_id,
        expires_at=claim_lifecycle.in_days(claim_days),
        created_at=now,
    )
