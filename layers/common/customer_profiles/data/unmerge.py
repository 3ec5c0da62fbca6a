"""An unmerge as the table does it (docs/decisions.md, unmerge): the merged profile's own children back from its
survivor (Put + Delete at what was read, under no user until the last step gives the profile its owner), its
open claims and receipt codes pointed at it, its consent statements back, then one transaction that makes it
live again with its owner, takes from the survivor what it took over, and keeps the unmerge.

Every step but the last holds only while the profile is still `unmerging` as read, and finds nothing to do
the second time: the effect that runs them can stop anywhere and run again.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from customer_profiles.data import keys
from customer_profiles.data.codec import child_from_item, child_to_item, consent_from_item, consent_to_item
from customer_profiles.data.consents import NEWER
from customer_profiles.data.lineage import add_move
from customer_profiles.data.orders import OrderRecords
from customer_profiles.data.pending import add_pending
from customer_profiles.data.profile_items import add_profile_changes, rekey_effect
from customer_profiles.data.table import KeyCondition
from customer_profiles.data.tx import TransactionCancelled, Tx
from customer_profiles.data.users import add_identifiers, add_user, check_holding
from customer_profiles.errors import ConcurrentWrite
from customer_profiles.models.activity import SYSTEM
from customer_profiles.models.consents import PURPOSES, ConsentStatement, instant
from customer_profiles.models.domain import Entitlement, Order, Profile
from customer_profiles.ports.identity import ProfileChange
from customer_profiles.ports.undo import UnmergeFinish

RETURNS_PER_TRANSACTION = 49  # a Put and a Delete each, and the check that the profile is still unmerging
ROUNDS = 3


def check_unmerging(tx: Tx, source: Profile) -> None:
    """`source` is still unmerging as read (the same request, from the same survivor)."""
    tx.check(
        keys.profile_key(source.org_id, source.profile_id),
        "unmerging_at = :at AND merged_into = :into",
        at=source.unmerging_at,
        into=source.merged_into,
    )


def add_children_return(tx: Tx, children: Sequence[Order | Entitlement], survivor: Profile, source: Profile) -> None:
    """Each child under `source` with no user (its owner's re-key gives the history keys), gone from
    `survivor`: an order while it is there, an entitlement only at the version read."""
    for child in children:
        update: dict = {"profile_id": source.profile_id}
        if isinstance(child, Order):
            update["reached_at"] = None  # it reaches a person again only with its profile
            left = keys.order_key(child.org_id, survivor.profile_id, child.created_at, child.order_id)
            tx.put_if_new({**child_to_item(child.model_copy(update=update), None), "moved_from": survivor.profile_id})
            tx.delete(left, "attribute_exists(pk)")
        else:
            left = keys.entitlement_key(child.org_id, survivor.profile_id, child.entitlement_id)
            tx.put_if_new({**child_to_item(child.model_copy(update=update), None), "moved_from": survivor.profile_id})
            tx.delete(left, "#version = :v", v=child.version)


class UnmergeRecords(OrderRecords):
    def orders_by_ids(self, org_id: str, profile_id: str, order_ids: Sequence[str]) -> list[Order]:
        """Those of `order_ids` under the profile (its orders read whole, strongly consistent: an order's key
        holds its time, which a merge's move does not keep)."""
        wanted = set(order_ids)
        if not wanted:
            return []
        condition = KeyCondition("pk").eq(keys.profile_pk(org_id, profile_id)) & KeyCondition("sk").begins_with(
            keys.ORDER_SK_PREFIX
        )
        found = self.db.query_all(KeyConditionExpression=condition, ConsistentRead=True)
        orders = [child_from_item(i) for i in found if i.get("order_id") in wanted]
        return [o for o in orders if isinstance(o, Order)]

    def return_children(
        self, survivor: Profile, source: Profile, order_ids: Sequence[str], entitlement_ids: Sequence[str]
    ) -> int:
        """Those of the ids still under `survivor` go back under `source` (unmerging), 49 a transaction; a
        transaction that loses to a change meanwhile (a void, a claim) reads again. Returns how many moved."""
        moved = 0
        for _ in range(ROUNDS):
            children: list[Order | Entitlement] = [
                *self.orders_by_ids(survivor.org_id, survivor.profile_id, order_ids),
                *self.entitlements_by_ids(survivor.org_id, survivor.profile_id, entitlement_ids),
            ]
            if not children:
                return moved
            try:
                for start in range(0, len(children), RETURNS_PER_TRANSACTION):
                    chunk = children[start : start + RETURNS_PER_TRANSACTION]
                    tx = self.db.tx()
                    check_unmerging(tx, source)
                    add_children_return(tx, chunk, survivor, source)
                    tx.execute(self.db.client)
                    moved += len(chunk)
            except TransactionCancelled:
                continue
            return moved
        raise ConcurrentWrite(f"the children of profile {source.profile_id} kept changing while returned; retry")

    def point_open_sales_at(self, source: Profile, order_ids: Sequence[str]) -> int:
        """The open claim and the open receipt code of each of `source`'s orders among `order_ids` name it
        (each one guarded UpdateItem; a closed one is left as it is). Returns how many changed."""
        changed = 0
        for order in self.orders_by_ids(source.org_id, source.profile_id, order_ids):
            for key in (
                keys.claim_key(order.claim_token_hash) if order.claim_token_hash else None,
                keys.receipt_key(order.receipt_hash) if order.receipt_hash else None,
            ):
                if key is not None:
                    done = self.db.update_if(
                        key,
                        "SET profile_id = :profile",
                        "#status = :open AND profile_id <> :profile",
                        profile=source.profile_id,
                        open="open",
                    )
                    changed += done is not None
        return changed

    def return_consents(
        self,
        survivor: Profile,
        source: Profile,
        statements: Sequence[ConsentStatement],
        replaced: Sequence[ConsentStatement],
    ) -> None:
        """`statements` (the source's as the merge took them) back on `source`; on `survivor`, each purpose whose
        statement is still one of them goes back to the survivor's own it replaced (`replaced`), or to none.
        One transaction, read again if a statement changed meanwhile."""
        for _ in range(ROUNDS):
            wanted = [keys.consent_key(p.org_id, p.profile_id, u) for p in (source, survivor) for u in PURPOSES]
            items = self.db.batch_get(wanted)
            source_pk = keys.profile_pk(source.org_id, source.profile_id)
            theirs = {s.purpose: s for s in (consent_from_item(i) for i in items if i["pk"] == source_pk)}
            mine = {s.purpose: s for s in (consent_from_item(i) for i in items if i["pk"] != source_pk)}
            tx = self.db.tx()
            check_unmerging(tx, source)
            checked = len(tx.items)
            moved = (instant(datetime.now(UTC)), SYSTEM)
            previous = {s.purpose: s for s in replaced}
            for statement in statements:
                if statement.beats(theirs.get(statement.purpose)):
                    item = consent_to_item(source.org_id, source.profile_id, statement, moved=moved)
                    tx.put(item, NEWER, rank=statement.rank)
                now = mine.get(statement.purpose)
                if now is None or now.statement_id != statement.statement_id:
                    continue  # the survivor stated something since (or never took it): that stays
                if (before := previous.get(statement.purpose)) is not None:
                    item = consent_to_item(survivor.org_id, survivor.profile_id, before, moved=moved)
                    tx.put(item, "#rank = :rank", rank=now.rank)
                else:
                    key = keys.consent_key(survivor.org_id, survivor.profile_id, statement.purpose)
                    tx.delete(key, "#rank = :rank", rank=now.rank)
            if len(tx.items) == checked:
                return
            try:
                tx.execute(self.db.client)
            except TransactionCancelled:
                continue
            return
        raise ConcurrentWrite(f"the statements of profile {source.profile_id} kept changing while returned; retry")

    def finish_unmerge(self, plan: UnmergeFinish) -> None:
        """One transaction: the profile live again with its owner (a re-key gives its children that owner's
        history keys), the survivor without what it took over, the survivor's `SOURCE#` reference gone (its
        person's erasure no longer covers the profile), the owner as read or made, the move kept, the event."""
        tx = self.db.tx()
        changes = [ProfileChange(plan.source, plan.restored, changed_by=plan.changed_by)]
        if plan.reduced is not plan.survivor:
            changes.append(ProfileChange(plan.survivor, plan.reduced, "not_merged", SYSTEM))
        add_profile_changes(tx, changes)
        restored = plan.restored
        if restored.user_id and restored.user_id == plan.source.user_id:  # not changing hands: re-key all the same
            add_pending(tx, rekey_effect(restored))
        tx.delete(keys.merged_profile_key(restored.org_id, plan.survivor.profile_id, restored.profile_id))
        if plan.new_holder and plan.proof:
            add_user(tx, None, plan.new_holder)
            add_identifiers(tx, plan.claimed, plan.new_holder.user_id, plan.proof)
        elif plan.holder:  # as read; a dormant one changes version (an org erasure that read it reads again)
            user = plan.holder
            tx.update(
                keys.user_key(user.user_id), "SET #version = #version + :one", "#version = :v", one=1, v=user.version
            )
        for identifier, holding in plan.holdings.items():
            if identifier not in plan.claimed:
                check_holding(tx, identifier, holding)
        add_move(tx, plan.move)
        add_pending(tx, plan.announce)
        tx.execute(self.db.client)
