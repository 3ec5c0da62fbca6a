"""Sales at the venue window: identifiers captured by staff find (or create) the customer's account.

With an email or phone: the user holding it, active or dormant; none -> a dormant user to activate later.
Without any: an orphaned profile (or the one a card fingerprint already points to). Everything a sale
writes goes in one transaction, so a crash or a lost race leaves nothing half-written.
"""

from __future__ import annotations

from dataclasses import dataclass

from customer_profiles.data.orders import SaleWrite
from customer_profiles.data.profiles import ProfileChange
from customer_profiles.data.store import Store
from customer_profiles.domain.access import require_staff_of
from customer_profiles.domain.orders import build_order
from customer_profiles.domain.staff import find_or_make_holder, normalised_identifiers, org_views
from customer_profiles.domain.users import new_id, utc_now
from customer_profiles.models.api import OrderRequest, PartnerOrderRequest, PosSaleRequest, PosSaleResponse
from customer_profiles.models.domain import (
    CapturedDetails,
    EntitlementStatus,
    IdDocument,
    Identifier,
    OrderChannel,
    Profile,
    ProfileAttributes,
    ProfileOrigin,
)
from customer_profiles.models.principal import Principal
from customer_profiles.retry import on_concurrent_write

SELLERS = frozenset({"pos"})


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


def create_pos_sale(store: Store, principal: Principal, org_id: str, request: PosSaleRequest) -> PosSaleResponse:
    require_staff_of(principal, org_id, any_role=SELLERS)
    captured = request.customer
    region = store.org_default_region(org_id) if captured.phone else None
    customer = Customer(
        identifiers=normalised_identifiers(
            captured.email, captured.phone, default_region=region, field_prefix="customer."
        ),
        given_name=captured.given_name,
        family_name=captured.family_name,
        id_document=captured.id_document,
        card_fingerprint=captured.card_fingerprint,
    )

    def attempt() -> PlannedSale:
        # A concurrent sale may have created the same dormant user or profile: each attempt reads again.
        planned = plan_sale(
            store, org_id, customer, request, payment_method=request.payment_method, channel="pos", origin="pos"
        )
        store.write_sale(planned.write)
        return planned

    planned = on_concurrent_write(attempt, give_up="the sale kept conflicting with concurrent sales; retry")
    return PosSaleResponse(
        profile=org_views(store, [planned.profile])[0],
        order=planned.write.order,
        entitlements=planned.write.entitlements,
        profile_created=planned.profile_created,
    )


def plan_sale(
    store: Store,
    org_id: str,
    customer: Customer,
    request: OrderRequest | PartnerOrderRequest,
    *,
    payment_method: str,
    channel: OrderChannel,
    origin: ProfileOrigin,
    entitlement_status: EntitlementStatus = "active",
) -> PlannedSale:
    """Everything a sale for this customer will write: the user, profile, card, order and entitlements."""
    now = utc_now()
    user_id: str | None = None
    dormant = None
    claimed: list[Identifier] = []
    if customer.identifiers:
        user_id, dormant, claimed = find_or_make_holder(store, customer.identifiers, now)

    card = customer.card_fingerprint
    card_profile_id = store.profile_id_of_card(org_id, card) if card else None
    if user_id and not dormant:
        existing_id = store.profile_id_of_user_in_org(user_id, org_id)
    elif not user_id:
        existing_id = card_profile_id  # a card alone finds the org's profile, never a user
    else:
        existing_id = None

    profile = store.get_profile(org_id, existing_id) if existing_id else None
    change = None
    if profile is None:
        captured = dict(customer.identifiers)
        profile = Profile(
            org_id=org_id,
            profile_id=new_id(),
            user_id=user_id,
            origin=origin,
            attributes=ProfileAttributes(given_name=customer.given_name, family_name=customer.family_name),
            captured=CapturedDetails(
                email=captured.get("email"), phone=captured.get("phone"), id_document=customer.id_document
            ),
            cards=[card] if card and card_profile_id is None else [],
            created_at=now,
            updated_at=now,
        )
        change = ProfileChange(None, profile)
    elif card and card_profile_id is None:  # a known customer pays with a new card: it points at them now
        with_card = profile.model_copy(
            update={"cards": [*profile.cards, card], "updated_at": now, "version": profile.version + 1}
        )
        change = ProfileChange(profile, with_card)
        profile = with_card
    order, entitlements = build_order(
        request,
        payment_method,
        org_id=org_id,
        profile_id=profile.profile_id,
        channel=channel,
        entitlement_status=entitlement_status,
    )
    write = SaleWrite(
        order=order,
        entitlements=entitlements,
        user_id=profile.user_id,
        new_user=dormant,
        claimed_identifiers=claimed,
        profile_change=change,
    )
    return PlannedSale(write=write, profile=profile, profile_created=change is not None and change.before is None)
