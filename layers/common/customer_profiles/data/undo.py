"""Undoing a move: a sale its person disowned, a profile an admin unlinked, each in one transaction with every
holder, holding and version it was decided on as a condition, its move kept (lineage) and its event pending
(docs/decisions.md, undo). A sale goes like `add_sale_move` moves one: each child Put + Delete, 40
entitlements in the transaction and the rest through `move_entitlements`."""

from __future__ import annotations

from customer_profiles.data import keys
from customer_profiles.data.codec import child_from_item, order_to_item
from customer_profiles.data.lineage import add_move
from customer_profiles.data.moves import ENTITLEMENTS_PER_MOVE, add_entitlements_follow, move_entitlements_of
from customer_profiles.data.orders import OrderRecords
from customer_profiles.data.pending import add_pending
from customer_profiles.data.profile_items import add_profile_changes, profile_holds
from customer_profiles.data.profiles import ProfileRecords
from customer_profiles.data.tx import Tx
from customer_profiles.data.typed_sales import typed_sale_item
from customer_profiles.data.users import add_identifiers, add_user, check_holder, check_holding
from customer_profiles.models.domain import Entitlement, Order
from customer_profiles.ports.undo import Destination, ProfileUnlinked, SaleDisowned


def add_destination(tx: Tx, destination: Destination, *, gains_profile: bool) -> None:
    """The holder an undo decided on, still so when it commits: a new dormant holder with what it holds, or
    the existing one in the status read; each identifier still held as read."""
    if destination.new_holder is not None:
        assert destination.proof is not None
        add_user(tx, None, destination.new_holder)
        add_identifiers(tx, destination.claimed, destination.new_holder.user_id, destination.proof)
    elif destination.holder is not None:
        check_holder(tx, destination.holder.user_id, destination.holder.status, gains_profile=gains_profile)
    for identifier, holding in destination.holdings.items():
        if identifier not in destination.claimed:
            check_holding(tx, identifier, holding)


class UndoRecords(ProfileRecords, OrderRecords):
    def sale_of_user(self, user_id: str, order_id: str) -> tuple[Order, list[Entitlement]] | None:
        """The order `order_id` under one of the user's live profiles, with its entitlements there: the user's
        profiles from the base table, then each one's children with that order id (strongly consistent)."""
        for profile in self.all_profiles_of_user(user_id):
            if profile.user_id != user_id or profile.merged_into:
                continue
            filtered = {"FilterExpression": "order_id = :order", "ExpressionAttributeValues": {":order": order_id}}
            found = [child_from_item(i) for i in self.children(profile.org_id, profile.profile_id, **filtered)]
            order = next((c for c in found if isinstance(c, Order)), None)
            if order is not None:
                return order, [c for c in found if isinstance(c, Entitlement)]
        return None

    def write_disown(self, plan: SaleDisowned) -> None:
        """The sale under its new profile and gone from the person's (Put + Delete), the target profile flagged
        (new, or over its version), its pointers made again without the person's identifiers, its open claim
        following it, the move kept and `OrderDisowned` pending: one transaction."""
        order, moved, source, target = plan.order, plan.moved, plan.source, plan.target.after
        tx = self.db.tx()
        holds, values = profile_holds(source.user_id)
        tx.check(keys.profile_key(source.org_id, source.profile_id), holds, **values)
        add_destination(tx, plan.destination, gains_profile=plan.target.before is None)
        add_profile_changes(tx, [plan.target])
        tx.put_if_new({**order_to_item(moved, target.user_id), "moved_from": source.profile_id})
        left = keys.order_key(order.org_id, source.profile_id, order.created_at, order.order_id)
        tx.delete(left, "attribute_exists(pk)")
        first, rest = plan.entitlements[:ENTITLEMENTS_PER_MOVE], plan.entitlements[ENTITLEMENTS_PER_MOVE:]
        move_entitlements_of(tx, first, source.profile_id, target)
        if rest:
            add_entitlements_follow(tx, moved, source.profile_id, target.profile_id, rest, at=plan.move.at)
        entitlement_ids = [e.entitlement_id for e in plan.entitlements]
        for identifier in plan.dropped:
            tx.delete(keys.typed_sale_key(identifier, order.org_id, order.order_id))
        for identifier in plan.destination.pointers:
            tx.put(typed_sale_item(identifier, moved, entitlement_ids))
        if plan.claim is not None and order.claim_token_hash:
            tx.update(
                keys.claim_key(order.claim_token_hash),
                "SET profile_id = :target",
                "#status = :open AND profile_id = :source",
                target=target.profile_id,
                open="open",
                source=plan.claim.profile_id,
            )
        add_move(tx, plan.move)
        add_pending(tx, plan.announce)
        tx.execute(self.db.client)

    def write_unlink(self, plan: ProfileUnlinked) -> None:
        """The profile over the version read, now its dormant holder's or nobody's (its children's history keys
        follow through `rekey_profile`), the holder as decided, the move kept and `ProfileUnlinked` pending."""
        tx = self.db.tx()
        add_profile_changes(tx, [plan.change])
        add_destination(tx, plan.destination, gains_profile=True)
        add_move(tx, plan.move)
        add_pending(tx, plan.announce)
        tx.execute(self.db.client)
