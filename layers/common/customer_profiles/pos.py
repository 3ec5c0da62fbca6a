"""Sales at the venue window: identifiers captured by staff find (or create) the customer's account.

With an email or phone: the user holding it, active or dormant; none -> a dormant user to activate later.
Without any: an orphaned profile (or the one a card fingerprint already points to). Everything a sale
writes goes in one transaction, so a crash or a lost race leaves nothing half-written.
"""

from __future__ import annotations

from customer_profiles.access import require_staff_of
from customer_profiles.dal import Identifier, ProfileStore, SaleWrite
from customer_profiles.errors import Conflict
from customer_profiles.identity import Principal
from customer_profiles.models import CapturedDetails, PosSaleRequest, PosSaleResponse, Profile, ProfileAttributes
from customer_profiles.orders import build_order
from customer_profiles.staff import find_or_make_holder, normalised_identifiers, org_views
from customer_profiles.users import new_id, utc_now

SELLERS = frozenset({"pos"})
ATTEMPTS = 3


def create_pos_sale(store: ProfileStore, principal: Principal, org_id: str, request: PosSaleRequest) -> PosSaleResponse:
    require_staff_of(principal, org_id, any_role=SELLERS)
    customer = request.customer
    region = store.org_default_region(org_id) if customer.phone else None
    identifiers = normalised_identifiers(
        customer.email, customer.phone, default_region=region, field_prefix="customer."
    )
    for _ in range(ATTEMPTS):
        try:
            return _sell_once(store, org_id, request, identifiers)
        except Conflict:
            continue  # a concurrent sale created the same dormant user or profile: read again, reuse it
    raise Conflict("the sale kept conflicting with concurrent sales; retry")


def _sell_once(
    store: ProfileStore, org_id: str, request: PosSaleRequest, identifiers: list[Identifier]
) -> PosSaleResponse:
    customer = request.customer
    now = utc_now()
    user_id: str | None = None
    dormant = None
    claimed: list[Identifier] = []
    if identifiers:
        user_id, dormant, claimed = find_or_make_holder(store, identifiers, now)

    card = customer.card_fingerprint
    card_profile_id = store.profile_id_of_card(org_id, card) if card else None
    if user_id and not dormant:
        existing_id = store.profile_id_of_user_in_org(user_id, org_id)
    elif not user_id:
        existing_id = card_profile_id  # a card alone finds the org's profile, never a user
    else:
        existing_id = None

    profile = store.get_profile(org_id, existing_id) if existing_id else None
    new_profile = None
    if profile is None:
        captured = dict(identifiers)
        profile = new_profile = Profile(
            org_id=org_id,
            profile_id=new_id(),
            user_id=user_id,
            origin="pos",
            attributes=ProfileAttributes(given_name=customer.given_name, family_name=customer.family_name),
            captured=CapturedDetails(
                email=captured.get("email"), phone=captured.get("phone"), id_document=customer.id_document
            ),
            created_at=now,
            updated_at=now,
        )
    order, entitlements = build_order(request, org_id=org_id, profile_id=profile.profile_id, channel="pos")
    store.write_sale(
        SaleWrite(
            order=order,
            entitlements=entitlements,
            user_id=profile.user_id,
            new_user=dormant,
            claimed_identifiers=claimed,
            new_profile=new_profile,
            new_card=card if card and card_profile_id is None else None,
        )
    )
    return PosSaleResponse(
        profile=org_views(store, [profile])[0],
        order=order,
        entitlements=entitlements,
        profile_created=new_profile is not None,
    )
