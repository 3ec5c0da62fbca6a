"""A sale's plan, shared by the window and the resellers' orders: who it goes to (the proof per sale,
`domain.identity.proofs`), the profile it goes under (the holder's, a card's, or a new one) and everything its
one transaction writes (`SaleWrite`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from customer_profiles.clock import new_id, utc_now
from customer_profiles.domain.identity.proofs import Placement, place_sale
from customer_profiles.domain.sales.orders import build_order
from customer_profiles.models.api import OrderRequest, PartnerOrderRequest
from customer_profiles.models.domain import (
    CapturedDetails,
    Entitlement,
    EntitlementStatus,
    Holding,
    IdDocument,
    Identifier,
    Order,
    OrderChannel,
    Profile,
    ProfileAttributes,
    ProfileOrigin,
    Proof,
    TypedIdentifier,
)
from customer_profiles.ports.sales import SalePlanning, SaleWrite


@dataclass(frozen=True)
class Customer:
    """Who a sale is for, as captured: identifiers already normalised."""

    identifiers: list[Identifier]
    given_name: str | None = None
    family_name: str | None = None
    id_document: IdDocument | None = None
    card_fingerprint: str | None = None


@dataclass(frozen=True)
class PlannedSale:
    write: SaleWrite
    profile: Profile
    profile_created: bool
    holder_active: bool = False  # the profile's user has signed up (for the answer's linked_account)


def plan_sale(
    store: SalePlanning,
    org_id: str,
    customer: Customer,
    request: OrderRequest | PartnerOrderRequest,
    *,
    payment_method: str,
    channel: OrderChannel,
    origin: ProfileOrigin,
    proof: Proof,
    entitlement_status: EntitlementStatus = "active",
    holders: dict[Identifier, Holding] | None = None,
    index_candidate: bool = False,
) -> PlannedSale:
    """Everything a sale for this customer will write: the user, profile, card, order and entitlements.

    Identifiers are hints (`proof` says whose): they find the user holding them, or make a dormant one.
    A card is recorded only on anonymous sales, and a card alone finds only the anonymous profile it paid
    for before, never a person's, so a card never leads a sale to a user. `holders`: the identifiers'
    holders when already read. `index_candidate`: take the holder's profile from the by-user index (one
    read instead of two; the sale's transaction checks that it is live and the holder's, and a profile the
    index has not seen yet fails on its uniqueness item, so the retry reads the table).
    """
    now = utc_now()
    placement: Placement | None = None
    card = None if customer.identifiers else customer.card_fingerprint
    card_profile_id = store.profile_id_of_card(org_id, card) if card else None
    if customer.identifiers:
        holders = store.identifier_holders(customer.identifiers) if holders is None else holders
        placement = place_sale(customer.identifiers, holders, now)
        profile = _holder_profile(store, org_id, placement, index_candidate=index_candidate)
    else:
        profile = _card_profile(store, org_id, card_profile_id)
    holder_active = bool(placement and placement.holder_active)
    new_profile = None
    if profile is None:
        new_card = card if card and card_profile_id is None else None
        user_id = placement.user_id if placement else None
        profile = new_profile = _new_sale_profile(
            org_id, customer, origin, user_id=user_id, card=new_card, now=now, reached=holder_active
        )
    order, entitlements = build_order(
        request,
        payment_method,
        org_id=org_id,
        profile_id=profile.profile_id,
        channel=channel,
        entitlement_status=entitlement_status,
    )
    order = _typed(order, customer.identifiers, proof, reached=holder_active)
    holdings = {i: (holders or {}).get(i) for i in customer.identifiers}
    write = _sale_write(
        order, entitlements, profile, new_profile=new_profile, placement=placement, proof=proof, holdings=holdings
    )
    return PlannedSale(
        write=write, profile=profile, profile_created=new_profile is not None, holder_active=holder_active
    )


def _sale_write(
    order: Order,
    entitlements: list[Entitlement],
    profile: Profile,
    *,
    new_profile: Profile | None,
    placement: Placement | None,
    proof: Proof,
    holdings: dict[Identifier, Holding | None],
) -> SaleWrite:
    """What the sale writes, with every holding and status it was decided on as its conditions."""
    return SaleWrite(
        order=order,
        entitlements=entitlements,
        user_id=profile.user_id,
        new_user=placement.new_holder if placement else None,
        claimed_identifiers=placement.claimed if placement else [],
        proof=proof,
        new_profile=new_profile,
        holder_status=_holder_status(placement),
        holdings=holdings,
        pointers=list(placement.pointers) if placement else [],
    )


def _holder_profile(store: SalePlanning, org_id: str, placement: Placement, *, index_candidate: bool) -> Profile | None:
    """The profile in the org of the user the sale goes to (None: a new holder has none yet)."""
    if placement.new_holder:
        return None
    if index_candidate:
        return store.user_profile_candidate(placement.user_id, org_id)
    existing_id = store.profile_id_of_user_in_org(placement.user_id, org_id)
    return store.get_profile(org_id, existing_id) if existing_id else None


def _card_profile(store: SalePlanning, org_id: str, card_profile_id: str | None) -> Profile | None:
    """The anonymous profile the card paid for before, while nobody holds it (never a person's)."""
    paid_before = store.get_profile(org_id, card_profile_id) if card_profile_id else None
    if paid_before and not paid_before.user_id and not paid_before.merged_into:
        return paid_before
    return None


def _new_sale_profile(
    org_id: str,
    customer: Customer,
    origin: ProfileOrigin,
    *,
    user_id: str | None,
    card: str | None,
    now: str,
    reached: bool,
) -> Profile:
    """The profile a sale creates: what staff or the reseller captured, and the card it was paid with;
    `reached`: its holder is a person already, whom it reaches now."""
    captured = dict(customer.identifiers)
    return Profile(
        org_id=org_id,
        profile_id=new_id(),
        user_id=user_id,
        origin=origin,
        attributes=ProfileAttributes(given_name=customer.given_name, family_name=customer.family_name),
        captured=CapturedDetails(
            email=captured.get("email"), phone=captured.get("phone"), id_document=customer.id_document
        ),
        cards=[card] if card else [],
        created_at=now,
        updated_at=now,
        reached_at=now if reached else None,
    )


def _typed(order: Order, identifiers: Sequence[Identifier], proof: Proof, *, reached: bool) -> Order:
    """The order with the identifiers it was typed with (a proof of one may bring it to its person later);
    `reached`: its holder is a person already, whom it reaches as it is made."""
    provenance = "partner_asserted" if proof.provenance == "partner_asserted" else "staff_captured"
    return order.model_copy(
        update={
            "typed": [TypedIdentifier(kind=k, value=v, provenance=provenance) for k, v in identifiers],
            "reached_at": order.created_at if reached else None,
        }
    )


def _holder_status(placement: Placement | None) -> str | None:
    """The status the sale's existing holder must still have when it commits (None: no existing holder)."""
    if placement is None or placement.new_holder:
        return None
    return "active" if placement.holder_active else "dormant"
