"""Orders and entitlements (a profile's children), resellers, claims and receipts: items and models."""

from __future__ import annotations

from customer_profiles.data import keys
from customer_profiles.data.codec.base import Item, model_from_item
from customer_profiles.models.domain import Claim, Entitlement, Order, Partner, Receipt


def order_to_item(order: Order, user_id: str | None) -> Item:
    """The order, with its bookkeeping (what it was typed with, when it reached its person, its claim) that
    the model keeps out of every answer."""
    bookkeeping: Item = {}
    if order.typed:
        bookkeeping["typed"] = [t.model_dump() for t in order.typed]
    if order.reached_at:
        bookkeeping["reached_at"] = order.reached_at
    if order.claim_token_hash:
        bookkeeping["claim_token_hash"] = order.claim_token_hash
    for name in ("sold_by", "client_id", "receipt_hash", "disowned_at"):
        if getattr(order, name):
            bookkeeping[name] = getattr(order, name)
    return {
        **keys.order_key(order.org_id, order.profile_id, order.created_at, order.order_id),
        "type": "order",
        **order.model_dump(mode="json"),
        **bookkeeping,
        **({"user_id": user_id} if user_id else {}),
        **keys.history_keys(user_id, order.org_id, order.created_at, order.order_id),
    }


def entitlement_to_item(entitlement: Entitlement, user_id: str | None) -> Item:
    return {
        **keys.entitlement_key(entitlement.org_id, entitlement.profile_id, entitlement.entitlement_id),
        "type": "entitlement",
        **entitlement.model_dump(mode="json"),
        "version": entitlement.version,
        **({"user_id": user_id} if user_id else {}),
        **keys.history_keys(user_id, entitlement.org_id, entitlement.created_at, entitlement.entitlement_id),
    }


def order_from_item(item: Item) -> Order:
    return model_from_item(Order, item)


def entitlement_from_item(item: Item) -> Entitlement:
    return model_from_item(Entitlement, item)


def child_from_item(item: Item) -> Order | Entitlement:
    return order_from_item(item) if item["type"] == "order" else entitlement_from_item(item)


def child_to_item(child: Order | Entitlement, user_id: str | None) -> Item:
    return order_to_item(child, user_id) if isinstance(child, Order) else entitlement_to_item(child, user_id)


def partner_from_item(item: Item) -> Partner:
    return model_from_item(Partner, item)


def claim_from_item(item: Item) -> Claim:
    return model_from_item(Claim, item)


def receipt_to_item(code_hash: str, receipt: Receipt) -> Item:
    return {**keys.receipt_key(code_hash), "type": "receipt", **receipt.model_dump(exclude_none=True)}


def receipt_from_item(item: Item) -> Receipt:
    return model_from_item(Receipt, item)
