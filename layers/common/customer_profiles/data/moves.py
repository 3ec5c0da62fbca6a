"""How a sale or a child moves from one profile to another: every Put under the new parent goes with the Delete
from the old one, in one transaction, so each order and entitlement has exactly one parent at every moment, and
each Delete holds only at what was read (a change committed meanwhile cancels the move instead of being undone).
"""

from __future__ import annotations

from collections.abc import Sequence

from customer_profiles.clock import utc_now
from customer_profiles.data import keys
from customer_profiles.data.codec import child_from_item, entitlement_to_item, order_to_item, profile_from_item
from customer_profiles.data.lineage import add_move
from customer_profiles.data.orders import OrderRecords
from customer_profiles.data.pending import add_pending
from customer_profiles.data.profile_items import profile_holds
from customer_profiles.data.table import KeyCondition
from customer_profiles.data.tx import TransactionCancelled, Tx
from customer_profiles.data.users import check_active
from customer_profiles.errors import ConcurrentWrite, UserGone
from customer_profiles.models.activity import CUSTOMER, SYSTEM
from customer_profiles.models.domain import (
    Entitlement,
    MoveKind,
    Order,
    PendingEffect,
    Profile,
    TypedIdentifier,
    User,
)
from customer_profiles.ports.undo import merge_move, sale_move

# A sale moves in one transaction: 4 checks, the order (Put + Delete), its claim or receipt, two pointers, its
# move with a reference per typed identifier (3), and up to this many entitlements (Put + Delete each) stay
# under DynamoDB's 100 items; the rest of a larger order follow through a pending effect written in the same
# transaction (`move_entitlements`).
ENTITLEMENTS_PER_MOVE = 40
# Orders and entitlements sort between these (`ENT#...`, `ORDER#...`); nothing else of a profile does.
CHILD_SK_RANGE = (keys.ENTITLEMENT_SK_PREFIX, f"{keys.ORDER_SK_PREFIX}~")
MOVES_PER_TRANSACTION = 49  # a Put and a Delete each, and the chunk's move: DynamoDB's 100 items
MOVE_ROUNDS = 3


def add_sale_move(
    tx: Tx,
    order: Order,
    entitlements: Sequence[Entitlement],
    source: Profile,
    target: Profile,
    *,
    holder: User | None,
    reached_at: str,
    kind: MoveKind,
    proof: str,
    typed: Sequence[TypedIdentifier] = (),
    for_the_caller: bool = False,
) -> None:
    """A sale (its order and its entitlements still under `source`) under `target`, the person's profile, with
    everything the decision read as a condition: `source` still live and `holder`'s (or nobody's), the holder
    unchanged (its version), `target` live and its user's, that user active (`for_the_caller`: else UserGone).
    Each child Put + Delete: one parent at every moment. The move is kept (`kind`, by `proof`, with every
    identifier the sale was `typed` with) so that the person can disown it."""
    assert target.user_id
    holds, values = profile_holds(source.user_id)
    tx.check(keys.profile_key(source.org_id, source.profile_id), holds, **values)
    if holder is not None:
        tx.check(keys.user_key(holder.user_id), "#version = :v", v=holder.version)
    holds, values = profile_holds(target.user_id)
    tx.check(keys.profile_key(target.org_id, target.profile_id), holds, **values)
    check_active(tx, target.user_id, UserGone("the caller's user is not active") if for_the_caller else None)
    moved = order.model_copy(update={"profile_id": target.profile_id, "reached_at": reached_at})
    tx.put_if_new({**order_to_item(moved, target.user_id), "moved_from": source.profile_id})
    left = keys.order_key(order.org_id, source.profile_id, order.created_at, order.order_id)
    tx.delete(left, "attribute_exists(pk)")
    first, rest = entitlements[:ENTITLEMENTS_PER_MOVE], entitlements[ENTITLEMENTS_PER_MOVE:]
    move_entitlements_of(tx, first, source.profile_id, target)
    by = SYSTEM if kind == "proof" else CUSTOMER
    moved_sale = sale_move(
        kind, order, entitlements, source, target, at=reached_at, by=by, proof=proof, typed=list(typed)
    )
    add_move(tx, moved_sale)
    if rest:
        add_entitlements_follow(tx, order, source.profile_id, target.profile_id, rest, at=reached_at)


def add_entitlements_follow(
    tx: Tx, order: Order, source_id: str, target_id: str, rest: Sequence[Entitlement], *, at: str
) -> None:
    """The entitlements of a moved sale beyond what its transaction holds follow it (`move_entitlements`)."""
    cause = {
        "org_id": order.org_id,
        "from_profile_id": source_id,
        "to_profile_id": target_id,
        "entitlement_ids": [e.entitlement_id for e in rest],
    }
    effect_id = f"{order.org_id}#{order.order_id}#{target_id}"
    add_pending(tx, PendingEffect(kind="move_entitlements", effect_id=effect_id, cause=cause, created_at=at))


def move_entitlements_of(tx: Tx, entitlements: Sequence[Entitlement], source_id: str, target: Profile) -> None:
    """Each entitlement under `target` (Put) and gone from profile `source_id` (Delete, only at the version read:
    a void committed meanwhile cancels the move, which reads again, instead of being undone)."""
    for entitlement in entitlements:
        moved = entitlement.model_copy(update={"profile_id": target.profile_id})
        tx.put_if_new({**entitlement_to_item(moved, target.user_id), "moved_from": source_id})
        tx.delete(
            keys.entitlement_key(entitlement.org_id, source_id, entitlement.entitlement_id),
            "#version = :v",
            v=entitlement.version,
        )


def add_children_move(
    tx: Tx, children: Sequence[Order | Entitlement], source: Profile, target: Profile, *, since: str | None
) -> None:
    """Orders and entitlements of `source` under `target` (a merge): each order keeps when it reached its
    person (`since`: when what `source` holds did, or later for an order made later)."""
    for child in children:
        if isinstance(child, Order):
            reached = child.reached_at or (max(child.created_at, since) if since else None)
            moved = child.model_copy(update={"profile_id": target.profile_id, "reached_at": reached})
            # `moved_from`: the activity trail tells a moved order from a new one
            tx.put_if_new({**order_to_item(moved, target.user_id), "moved_from": source.profile_id})
            left = keys.order_key(child.org_id, source.profile_id, child.created_at, child.order_id)
            tx.delete(left, "attribute_exists(pk)")
    move_entitlements_of(tx, [c for c in children if isinstance(c, Entitlement)], source.profile_id, target)


class MoveRecords(OrderRecords):
    def move_entitlements(self, org_id: str, from_profile_id: str, to_profile_id: str, ids: Sequence[str]) -> int:
        """Those of `ids` still under `from_profile_id` go under `to_profile_id` (following its merges), each
        Put + Delete at the version read; returns how many moved (a repeat moves none)."""
        moved = 0
        while left := self.entitlements_by_ids(org_id, from_profile_id, ids):
            target_item = self.db.get(keys.profile_key(org_id, to_profile_id))
            target = profile_from_item(target_item) if target_item else None
            if target is None or target.merging_into:
                raise ConcurrentWrite("the profile a sale moved to is being written; retry")
            if target.erased_at:  # its person was erased since: the rest stays where it is, theirs no more
                return moved
            if target.merged_into:
                to_profile_id = target.merged_into
                continue
            tx = self.db.tx()
            holds, values = profile_holds(target.user_id)
            tx.check(keys.profile_key(org_id, target.profile_id), holds, **values)
            move_entitlements_of(tx, left[:ENTITLEMENTS_PER_MOVE], from_profile_id, target)
            tx.execute(self.db.client)
            moved += len(left[:ENTITLEMENTS_PER_MOVE])
        return moved

    def move_all_children(self, source: Profile, target: Profile, *, since: str | None = None) -> int:
        """Every order and entitlement of `source` (closed: nothing new arrives) under `target`: one read of
        both kinds (strongly consistent, every page), then transactions of 50 moves. A transaction that loses
        to a concurrent change (a void, a claim) is read again. Returns how many moved."""
        moved = 0
        for _ in range(MOVE_ROUNDS):
            found = self.db.query_all(
                KeyConditionExpression=KeyCondition("pk").eq(keys.profile_pk(source.org_id, source.profile_id))
                & KeyCondition("sk").between(*CHILD_SK_RANGE),
                ConsistentRead=True,
            )
            if not found:
                return moved
            try:
                for start in range(0, len(found), MOVES_PER_TRANSACTION):
                    chunk = [child_from_item(i) for i in found[start : start + MOVES_PER_TRANSACTION]]
                    tx = self.db.tx()
                    add_children_move(tx, chunk, source, target, since=since)
                    add_move(tx, merge_move(source, target, utc_now(), children=chunk))
                    tx.execute(self.db.client)
                    moved += len(chunk)
            except TransactionCancelled:
                continue  # a child changed meanwhile: read what is left again
            return moved
        raise ConcurrentWrite(f"the children of profile {source.profile_id} kept changing while moved; retry")
