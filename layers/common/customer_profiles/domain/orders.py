"""Orders from the consumer apps: the first purchase at an org creates the user's profile there."""

from __future__ import annotations

from customer_profiles.data.keys import time_ordered_id
from customer_profiles.data.store import Store
from customer_profiles.domain import profiles, users
from customer_profiles.domain.users import new_id, utc_now
from customer_profiles.models.api import OrderRequest, OrderResponse, PartnerOrderRequest
from customer_profiles.models.domain import Entitlement, EntitlementStatus, Order, OrderChannel
from customer_profiles.models.principal import Principal
from customer_profiles.retry import on_concurrent_write


def build_order(
    request: OrderRequest | PartnerOrderRequest,
    payment_method: str,
    *,
    org_id: str,
    profile_id: str,
    channel: OrderChannel,
    entitlement_status: EntitlementStatus = "active",
) -> tuple[Order, list[Entitlement]]:
    now = utc_now()
    order = Order(
        order_id=new_id(),
        org_id=org_id,
        profile_id=profile_id,
        channel=channel,
        currency=request.currency,
        payment_method=payment_method,
        lines=request.lines,
        total=sum(line.quantity * line.unit_price for line in request.lines),
        created_at=now,
    )
    entitlements = [
        Entitlement(
            entitlement_id=time_ordered_id(now),  # the profile view pages entitlements newest first
            org_id=org_id,
            profile_id=profile_id,
            order_id=order.order_id,
            kind=line.kind,
            item_id=line.item_id,
            status=entitlement_status,
            created_at=now,
        )
        for line in request.lines
        for _ in range(line.quantity)
    ]
    return order, entitlements


def place_consumer_order(store: Store, principal: Principal, org_id: str, request: OrderRequest) -> OrderResponse:
    user_id = users.current_user_id(store, principal)
    created_profile = False

    def attempt() -> OrderResponse:
        # Read again on each attempt: a conflict may mean the profile was linked elsewhere meanwhile.
        nonlocal created_profile
        profile_id, created = profiles.ensure_user_profile(store, user_id, org_id, origin="consumer")
        created_profile = created_profile or created
        order, entitlements = build_order(
            request, request.payment_method, org_id=org_id, profile_id=profile_id, channel="app"
        )
        store.create_order(order, entitlements, user_id)
        return OrderResponse(order=order, entitlements=entitlements, profile_created=created_profile)

    return on_concurrent_write(
        attempt, give_up="the order kept conflicting with concurrent changes; retry with the same Idempotency-Key"
    )
