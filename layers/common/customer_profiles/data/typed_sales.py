"""Typed sales: a pointer under each identifier a sale was typed with (`TYPED#<identifier>`), where whoever
proves it first finds the sale (domain/identity/proofs.py), and the move of such a sale to its person."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from customer_profiles.data import keys
from customer_profiles.data.codec import Item
from customer_profiles.data.moves import MOVE_ROUNDS, add_sale_move
from customer_profiles.data.orders import OrderRecords
from customer_profiles.data.table import KeyCondition, Table
from customer_profiles.errors import ConcurrentWrite
from customer_profiles.models.domain import Identifier, Order
from customer_profiles.ports.identity import TypedSale, TypedSaleMove


def typed_sale_from_item(item: Item) -> TypedSale:
    return TypedSale(
        org_id=item["org_id"],
        profile_id=item["profile_id"],
        order_id=item["order_id"],
        order_created_at=item["order_created_at"],
        entitlement_ids=tuple(item.get("entitlement_ids", [])),
        typed=tuple((kind, value) for kind, value in item.get("typed", [])),
        placed_with_person=bool(item.get("placed_with_person")),
    )


def typed_sale_item(identifier: Identifier, order: Order, entitlement_ids: Sequence[str]) -> Item:
    """Where a proof of `identifier` finds a sale typed with it that went to the holder of another one (a
    dormant holder, or a person when `order.reached_at` says it reached them as it was made)."""
    return {
        **keys.typed_sale_key(identifier, order.org_id, order.order_id),
        "type": "typed_sale",
        "org_id": order.org_id,
        "profile_id": order.profile_id,
        "order_id": order.order_id,
        "order_created_at": order.created_at,
        "entitlement_ids": list(entitlement_ids),
        "typed": [list(t.identifier) for t in order.typed],
        "placed_with_person": bool(order.reached_at),
    }


def drop_typed_identifier(db: Table, key: keys.Key, identifier: Identifier) -> bool:
    """`identifier` out of the `typed` list of the item at `key` (an order's entries are objects, a pointer's
    pairs), written over the list as read and read again when it changed meanwhile, so two such writes never
    put back what the other took out. False when there is no such item."""
    for _ in range(MOVE_ROUNDS):
        item = db.get(key)
        if item is None:
            return False
        typed = item.get("typed") or []
        kept = [t for t in typed if _typed_pair(t) != identifier]
        if kept == typed:
            return True
        expression = "SET typed = :kept" if kept else "REMOVE typed"
        values = {"kept": kept} if kept else {}
        if db.update_if(key, expression, "typed = :typed", typed=typed, **values) is not None:
            return True
    raise ConcurrentWrite("an item kept changing while an identifier left it; retry")


def _typed_pair(entry: Any) -> tuple[str, str]:
    if isinstance(entry, dict):
        return entry.get("kind", ""), entry.get("value", "")
    kind, value = entry
    return kind, value


class TypedSaleRecords(OrderRecords):
    def typed_sales(self, identifier: Identifier) -> list[TypedSale]:
        """Every sale pointer under `identifier` (strongly consistent, every page)."""
        condition = KeyCondition("pk").eq(keys.typed_pk(identifier))
        return [
            typed_sale_from_item(item)
            for item in self.db.query_all(KeyConditionExpression=condition, ConsistentRead=True)
        ]

    def drop_typed_sale(self, identifier: Identifier, typed: TypedSale) -> None:
        self.db.table.delete_item(Key=keys.typed_sale_key(identifier, typed.org_id, typed.order_id))

    def forget_typed(self, identifier: Identifier, order: Order) -> bool:
        """`identifier` leaves the order's typed identifiers (it reached someone else, or its prover is
        erased). False when the order is no longer there (it moved: whoever moved it decided what it keeps)."""
        return drop_typed_identifier(
            self.db, keys.order_key(order.org_id, order.profile_id, order.created_at, order.order_id), identifier
        )

    def move_sale(self, move: TypedSaleMove, *, reached_at: str) -> None:
        """A typed sale to the person who proved one of its identifiers first (`add_sale_move`), with its open
        claim, and every pointer to it gone: one transaction."""
        order, typed = move.order, move.typed
        typed_with = order.typed  # kept with the move, which a disown reads: the order keeps one
        # It reached its person by `move.identifier`: the other identifiers it was typed with (someone else's,
        # perhaps) stay neither on it nor under their pointers, which go below.
        order = order.model_copy(update={"typed": [t for t in order.typed if t.identifier == move.identifier]})
        entitlements = self.entitlements_by_ids(order.org_id, move.source.profile_id, typed.entitlement_ids)
        tx = self.db.tx()
        add_sale_move(
            tx,
            order,
            entitlements,
            move.source,
            move.target,
            holder=move.holder,
            reached_at=reached_at,
            kind="proof",
            proof=move.identifier[0],
            typed=typed_with,
        )
        if move.claim is not None and order.claim_token_hash:
            tx.update(
                keys.claim_key(order.claim_token_hash),
                "SET profile_id = :target",
                "#status = :open AND profile_id = :source",
                target=move.target.profile_id,
                open="open",
                source=move.claim.profile_id,
            )
        for identifier in typed.typed:
            tx.delete(keys.typed_sale_key(identifier, typed.org_id, typed.order_id))
        tx.execute(self.db.client)
