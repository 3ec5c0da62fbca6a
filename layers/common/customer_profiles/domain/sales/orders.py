"""Orders from the consumer apps: the first purchase at an org creates the user's profile there."""

from __future__ import annotations

from customer_profiles.clock import new_id, time_ordered_id, utc_now
from customer_profiles.domain.idempotency import replayed, unkeyed
from customer_profiles.domain.identity import profiles, users
from customer_profiles.models.activity import CUSTOMER
from customer_profiles.models.api import OrderRequest, OrderResponse, PartnerOrderRequest
from customer_profiles.models.domain import Entitlement, EntitlementStatus, Order, OrderChannel
from customer_profiles.models.principal import Principal
from customer_profiles.ports.sales import ConsumerOrders, IdempotentRequest, SaleWrite
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


def place_consumer_order(
    store: ConsumerOrders,
    principal: Principal,
    org_id: str,
    request: OrderRequest,
    once: IdempotentRequest | None = None,
) -> OrderResponse:
    """The order (and the user's profile in the org, on their first purchase there), exactly once per
    Idempotency-Key: one read (the key's earlier answer and the profile, together) and one transaction."""
    once = once or unkeyed("place_consumer_order")

    def attempt(user_id: str) -> OrderResponse:
        # Read again on each attempt: a concurrent retry may have answered, or the profile moved meanwhile.
        answered, profile_id = store.answer_and_user_profile(once, user_id, org_id)
        if answered:
            return OrderResponse.model_validate(replayed(answered, once))
        new_profile = None
        if profile_id is None:  # the first purchase here: the profile is born in the order's transaction
            new_profile = profiles.new_user_profile(user_id, org_id, origin="consumer")
            profile_id = new_profile.profile_id
        order, entitlements = build_order(
            request, request.payment_method, org_id=org_id, profile_id=profile_id, channel="app"
        )
        # the person bought it; through which app client (the report tells a white-label app's sales apart)
        order = order.model_copy(update={"reached_at": order.created_at, "client_id": principal.client_id or None})
        answer = OrderResponse(order=order, entitlements=entitlements, profile_created=new_profile is not None)
        sale = SaleWrite(
            order=order,
            entitlements=entitlements,
            user_id=user_id,
            new_profile=new_profile,
            changed_by=CUSTOMER,
            holder_status="active",
            for_the_caller=True,
        )
        as_sent = answer.model_dump(mode="json")
        store.write_sale(sale, answer=(once, as_sent))
        return OrderResponse.model_validate(as_sent)  # what a retry is answered, to the letter

    return users.for_the_caller(
        store,
        principal,
        lambda user_id: on_concurrent_write(
            lambda: attempt(user_id),
            give_up="the order kept conflicting with concurrent changes; retry with the same Idempotency-Key",
        ),
    )
