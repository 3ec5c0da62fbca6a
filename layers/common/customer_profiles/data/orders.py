"""The order aggregate: orders and their entitlements, children of one profile, in its partition, and in
their user's history (index keys) once the profile has a user: read one by one, by ids, or a page at a time.
A sale writes them (data/sales.py); moves, re-keys and typed-sale pointers have modules of their own."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from customer_profiles.data import keys
from customer_profiles.data.codec import (
    Item,
    child_from_item,
    entitlement_from_item,
    order_from_item,
    profile_from_item,
)
from customer_profiles.data.cursors import MergedCursor, is_key_value
from customer_profiles.data.table import KeyCondition, Records
from customer_profiles.models.activity import SYSTEM, Actor
from customer_profiles.models.domain import Entitlement, EntitlementStatus, Order, Profile


class OrderRecords(Records):
    def profile_partition(self, org_id: str, profile_id: str) -> list[Item]:
        """Everything in the profile's partition, strongly consistent, every page (tests and inspection;
        no route or effect reads a whole partition)."""
        return self.db.query_all(
            KeyConditionExpression=KeyCondition("pk").eq(keys.profile_pk(org_id, profile_id)), ConsistentRead=True
        )

    def profile_with_children(
        self, org_id: str, profile_id: str
    ) -> tuple[Profile, list[Order], list[Entitlement]] | None:
        """A profile with all its orders and entitlements: the whole partition (tests and inspection)."""
        items = self.profile_partition(org_id, profile_id)
        profile = next((profile_from_item(i) for i in items if i["sk"] == keys.PROFILE_SK), None)
        if profile is None:
            return None
        children = [child_from_item(i) for i in items if i["type"] in ("order", "entitlement")]
        orders = sorted((c for c in children if isinstance(c, Order)), key=lambda o: o.created_at, reverse=True)
        return profile, orders, [c for c in children if isinstance(c, Entitlement)]

    def _children_query(self, org_id: str, profile_id: str, prefix: str, **arguments: Any) -> dict[str, Any]:
        """The Query of one kind of child (orders or entitlements) of a profile, strongly consistent."""
        condition = KeyCondition("pk").eq(keys.profile_pk(org_id, profile_id)) & KeyCondition("sk").begins_with(prefix)
        return {"KeyConditionExpression": condition, "ConsistentRead": True, **arguments}

    def children(self, org_id: str, profile_id: str, **arguments: Any) -> list[Item]:
        """Every order and entitlement of the profile (not its search entries), strongly consistent, every
        page; `arguments` narrow the Query further (a filter, a projection)."""
        return [
            item
            for prefix in keys.CHILD_SK_PREFIXES
            for item in self.db.query_all(**self._children_query(org_id, profile_id, prefix, **arguments))
        ]

    def children_page(
        self, org_id: str, profile_id: str, *, limit: int, cursor: str | None
    ) -> tuple[list[Order], list[Entitlement], str | None]:
        """One page of the profile's orders and entitlements together, newest first: at most `limit` of them,
        from one Query per kind (each descending, `limit` + 1 items), merged by creation time.

        The cursor holds where each kind stopped, so every child appears on exactly one page. Entitlements
        whose ids are not time-ordered (uuid4 hex, not `clock.time_ordered_id`) come after every time-ordered
        one, in id order among themselves.
        """
        pk = keys.profile_pk(org_id, profile_id)
        prefixes = keys.CHILD_SK_PREFIXES
        position: MergedCursor[str] = MergedCursor.decode(
            cursor,
            {"profile": pk},
            sources=len(prefixes),
            valid_start=lambda source, sk: is_key_value(sk) and sk.startswith(prefixes[source]),
        )
        page, after = self.db.merged_page(
            [self._children_query(org_id, profile_id, prefix) for prefix in prefixes],
            position.map_starts(lambda sk: {"pk": pk, "sk": sk}),
            limit=limit,
            rank=_newest_first,
            start_of=lambda _, item: {"pk": item["pk"], "sk": item["sk"]},
        )
        next_cursor = after.map_starts(lambda start: start["sk"]).encode()
        children = [child_from_item(item) for item in page]
        return (
            [c for c in children if isinstance(c, Order)],
            [c for c in children if isinstance(c, Entitlement)],
            next_cursor,
        )

    def entitlements_by_ids(self, org_id: str, profile_id: str, entitlement_ids: Sequence[str]) -> list[Entitlement]:
        """Those of `entitlement_ids` that live under the profile, strongly consistent, in the order asked."""
        wanted = list(dict.fromkeys(entitlement_ids))
        found = self.db.batch_get([keys.entitlement_key(org_id, profile_id, e) for e in wanted])
        by_id = {i["entitlement_id"]: entitlement_from_item(i) for i in found}
        return [by_id[e] for e in wanted if e in by_id]

    def get_entitlement(self, org_id: str, profile_id: str, entitlement_id: str) -> Entitlement | None:
        item = self.db.get(keys.entitlement_key(org_id, profile_id, entitlement_id))
        return entitlement_from_item(item) if item else None

    def set_entitlement_status(
        self, current: Entitlement, *, to: EntitlementStatus, changed_by: Actor = SYSTEM, at: str | None = None
    ) -> Entitlement:
        """A transition from the entitlement as read (its version: anything that changed it since, a move or
        another transition, cancels this one: ConcurrentWrite, read again), with whatever the store's writes
        carry (a staff member's authority). Who made it and when are stamped for the activity trail."""
        stamp = ", changed_by = :by" + (", status_changed_at = :at" if at else "")
        tx = self.db.tx().update(
            keys.entitlement_key(current.org_id, current.profile_id, current.entitlement_id),
            "SET #status = :to" + stamp + " ADD #version :one",
            "#version = :v",
            to=to,
            one=1,
            v=current.version,
            by=changed_by.stamp(),
            **({"at": at} if at else {}),
        )
        tx.execute(self.db.client)
        return current.model_copy(update={"status": to, "version": current.version + 1})

    def get_order(self, org_id: str, profile_id: str, created_at: str, order_id: str) -> Order | None:
        item = self.db.get(keys.order_key(org_id, profile_id, created_at, order_id))
        return order_from_item(item) if item else None


def _newest_first(item: Item) -> tuple[str, int, str]:
    """Where a child comes in the profile view, greatest first: by creation time, an order before the
    entitlements made with it, then by key (the order each kind's Query reads them in)."""
    return item["created_at"], item["type"] == "order", item["sk"]
