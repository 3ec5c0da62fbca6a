"""The order aggregate: orders and their entitlements, children of one profile, in its partition, and in
their user's history (index keys) once the profile has a user. Sales write across aggregates (a dormant
user, identifiers, the profile) in the order's own transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from customer_profiles.data import keys
from customer_profiles.data.codec import (
    Item,
    child_from_item,
    child_to_item,
    decode_cursor,
    encode_cursor,
    entitlement_from_item,
    entitlement_to_item,
    is_key_value,
    order_to_item,
    profile_from_item,
)
from customer_profiles.data.consents import add_consents
from customer_profiles.data.profiles import ProfileChange, add_profile_changes, profile_holds
from customer_profiles.data.receipts import add_receipt
from customer_profiles.data.requests import Answered, IdempotentRequest, add_answer, answer_read, answered_from
from customer_profiles.data.table import KeyCondition, Records
from customer_profiles.data.tx import Tx
from customer_profiles.data.users import add_identifiers, add_user, holders_of
from customer_profiles.errors import InvalidInput, StateConflict
from customer_profiles.models.activity import SYSTEM, Actor
from customer_profiles.models.consents import ConsentStatement
from customer_profiles.models.domain import (
    Entitlement,
    EntitlementStatus,
    Holding,
    Identifier,
    Order,
    Profile,
    Proof,
    Receipt,
    User,
)


@dataclass
class SaleWrite:
    """Everything one sale writes, in one transaction: all of it or none of it."""

    order: Order
    entitlements: list[Entitlement]
    user_id: str | None
    new_user: User | None = None
    claimed_identifiers: list[Identifier] = field(default_factory=list)  # held by the new dormant user
    proof: Proof | None = None  # how the claimed identifiers are known (window or reseller)
    new_profile: Profile | None = None  # when the sale creates the profile (else it checks the one it uses)
    receipt: tuple[str, Receipt] | None = None  # an anonymous sale's receipt code (its hash) and what it gives
    consents: list[ConsentStatement] = field(default_factory=list)  # what the customer said, newer than stored
    changed_by: Actor = SYSTEM  # who sold: stamped on the new profile and the order (the activity trail)


def add_order(
    tx: Tx, order: Order, entitlements: Sequence[Entitlement], user_id: str | None, changed_by: Actor = SYSTEM
) -> None:
    tx.put_if_new({**order_to_item(order, user_id), "changed_by": changed_by.stamp()})
    for entitlement in entitlements:
        tx.put_if_new(entitlement_to_item(entitlement, user_id))


def add_sale(tx: Tx, sale: SaleWrite) -> None:
    if sale.new_user:
        add_user(tx, None, sale.new_user)
    elif sale.user_id:  # the holder as planned must not have been merged meanwhile (its profiles would strand)
        tx.check(keys.user_key(sale.user_id), "attribute_exists(pk) AND #status <> :merged", merged="merged")
    if sale.claimed_identifiers:
        assert sale.proof and sale.user_id
        add_identifiers(tx, sale.claimed_identifiers, sale.user_id, sale.proof)
    if sale.new_profile:
        add_profile_changes(tx, [ProfileChange(None, sale.new_profile, changed_by=sale.changed_by)])
    else:
        holds, values = profile_holds(sale.user_id)
        tx.check(keys.profile_key(sale.order.org_id, sale.order.profile_id), holds, **values)
    add_order(tx, sale.order, sale.entitlements, sale.user_id, sale.changed_by)
    if sale.receipt:
        add_receipt(tx, *sale.receipt)
    add_consents(tx, sale.order.org_id, sale.order.profile_id, sale.consents)


class OrderRecords(Records):
    def write_sale(self, sale: SaleWrite, answer: tuple[IdempotentRequest, dict[str, Any]] | None = None) -> None:
        """The sale, and the answer to the request that made it when it came with an Idempotency-Key."""
        tx = self.db.tx()
        add_sale(tx, sale)
        if answer:
            add_answer(
                tx, self.requests_table, *answer, about=keys.profile_pk(sale.order.org_id, sale.order.profile_id)
            )
        tx.execute(self.db.client)

    def answer_and_user_profile(
        self, request: IdempotentRequest, user_id: str, org_id: str
    ) -> tuple[Answered | None, str | None]:
        """A purchase's one read: its earlier answer, if any, and the user's profile id in the org."""
        found = self.db.batch_get_across(
            {
                self.requests_table: answer_read(request),
                self.db.name: {"Keys": [keys.user_org_key(user_id, org_id)], "ConsistentRead": True},
            }
        )
        pointer = found[self.db.name]
        return answered_from(found[self.requests_table]), pointer[0]["profile_id"] if pointer else None

    def answer_and_holders(
        self, request: IdempotentRequest, identifiers: Sequence[Identifier]
    ) -> tuple[Answered | None, dict[Identifier, Holding]]:
        """A sale's first read: its earlier answer, if any, and who holds each identifier typed."""
        reads = {self.requests_table: answer_read(request)}
        if identifiers:
            reads[self.db.name] = {"Keys": [keys.identifier_key(i) for i in identifiers], "ConsistentRead": True}
        found = self.db.batch_get_across(reads)
        return answered_from(found[self.requests_table]), holders_of(found.get(self.db.name, []))

    def create_order(self, order: Order, entitlements: Sequence[Entitlement], user_id: str | None) -> None:
        """The order and its entitlements in one transaction, under a profile that still belongs to the user."""
        self.write_sale(SaleWrite(order=order, entitlements=list(entitlements), user_id=user_id))

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
        with ids made before ids were time-ordered (`keys.time_ordered_id`) come after every newer one,
        in id order among themselves.
        """
        pk = keys.profile_pk(org_id, profile_id)
        positions, done = _children_position(pk, cursor)
        page, starts, done = self.db.merged_page(
            [self._children_query(org_id, profile_id, prefix) for prefix in keys.CHILD_SK_PREFIXES],
            [{"pk": pk, "sk": position} if position else None for position in positions],
            done,
            limit=limit,
            rank=_newest_first,
            start_of=lambda _, item: {"pk": item["pk"], "sk": item["sk"]},
        )
        positions = [start["sk"] if start else None for start in starts]
        next_cursor = None if all(done) else encode_cursor({"profile": pk, "after": positions, "done": done})
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
        self,
        org_id: str,
        profile_id: str,
        entitlement_id: str,
        *,
        to: EntitlementStatus,
        allowed_from: Sequence[str],
        changed_by: Actor = SYSTEM,
        at: str | None = None,
    ) -> Entitlement:
        """A state-guarded transition; a StateConflict when the entitlement is not in an allowed state. Who
        made it and when are stamped for the activity trail."""
        values = {f"from{i}": state for i, state in enumerate(allowed_from)}
        allowed = ", ".join(f":{name}" for name in values)
        stamp = ", changed_by = :by" + (", status_changed_at = :at" if at else "")
        updated = self.db.update_if(
            keys.entitlement_key(org_id, profile_id, entitlement_id),
            "SET #status = :to" + stamp,
            f"attribute_exists(pk) AND #status IN ({allowed})",
            to=to,
            by=changed_by.stamp(),
            **({"at": at} if at else {}),
            **values,
        )
        if updated is None:
            raise StateConflict(f"the entitlement cannot become {to} from its current state")
        return entitlement_from_item(updated)

    def history_of_user(
        self, user_id: str, *, org_id: str | None, limit: int, cursor: str | None
    ) -> tuple[list[Order | Entitlement], str | None]:
        index, attribute = (keys.BY_ORG_INDEX, "gsi2") if org_id else (keys.BY_USER_INDEX, "gsi1")
        items, next_cursor = self.page(
            index,
            (f"{attribute}pk", keys.user_history_pk(user_id, org_id)),
            (f"{attribute}sk", keys.HISTORY_PREFIX),
            limit=limit,
            cursor=cursor,
            forward=False,
        )
        return [child_from_item(i) for i in items], next_cursor

    def pseudonymise_children(self, org_id: str, profile_id: str) -> int:
        """Take the user and the history keys off an erased profile's orders and entitlements: they stay for
        the org's accounts but no longer lead to a person. Reads only those still keyed; a redelivery
        changes nothing. Returns how many changed."""
        changed = 0
        for item in self.children(
            org_id,
            profile_id,
            FilterExpression="attribute_exists(user_id) OR attribute_exists(gsi1pk)",
            ProjectionExpression="pk, sk",
        ):
            updated = self.db.update_if(
                {"pk": item["pk"], "sk": item["sk"]},
                "REMOVE user_id, gsi1pk, gsi1sk, gsi2pk, gsi2sk",
                "attribute_exists(pk)",
            )
            changed += updated is not None
        return changed

    def rekey_children(self, org_id: str, profile_id: str, user_id: str) -> int:
        """Give the profile's orders and entitlements the user's history keys; returns how many changed.

        Each write is guarded by the child not having that user yet, so a redelivery changes nothing.
        """
        changed = 0
        # Only the children still to re-key, and only what the update needs of them.
        projection = "pk, sk, #type, order_id, entitlement_id, created_at"
        for item in self.children(
            org_id,
            profile_id,
            FilterExpression="attribute_not_exists(user_id) OR user_id <> :user",
            ProjectionExpression=projection,
            ExpressionAttributeNames={"#type": "type"},
            ExpressionAttributeValues={":user": user_id},
        ):
            child_id = item["order_id"] if item["type"] == "order" else item["entitlement_id"]
            history = keys.history_keys(user_id, org_id, item["created_at"], child_id)
            updated = self.db.update_if(
                {"pk": item["pk"], "sk": item["sk"]},
                "SET user_id = :user, " + ", ".join(f"{name} = :{name}" for name in history),
                "attribute_exists(pk) AND (attribute_not_exists(user_id) OR user_id <> :user)",
                user=user_id,
                **history,
            )
            changed += updated is not None
        return changed

    def move_children(self, source: Profile, target: Profile, *, chunk: int = 25) -> int:
        """Move up to `chunk` orders and entitlements of `source` under `target` (Put under the target +
        Delete from the source, in one transaction), so each always has exactly one parent; returns how many
        moved. Reads only the children it moves (strongly consistent): call it until it moves none."""
        found: list[Item] = []
        for prefix in keys.CHILD_SK_PREFIXES:
            arguments = self._children_query(source.org_id, source.profile_id, prefix)
            while len(found) < chunk:
                response = self.db.table.query(**arguments, Limit=chunk - len(found))
                found += response["Items"]
                if "LastEvaluatedKey" not in response:
                    break
                arguments["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        if not found:
            return 0
        tx = self.db.tx()
        for item in found:
            moved = child_from_item(item).model_copy(update={"profile_id": target.profile_id})
            # `moved_from`: the activity trail tells a moved order from a new one
            tx.put_if_new({**child_to_item(moved, target.user_id), "moved_from": source.profile_id})
            tx.delete({"pk": item["pk"], "sk": item["sk"]}, "attribute_exists(pk)")
        tx.execute(self.db.client)
        return len(found)


def _newest_first(item: Item) -> tuple[str, int, str]:
    """Where a child comes in the profile view, greatest first: by creation time, an order before the
    entitlements made with it, then by key (the order each kind's Query reads them in)."""
    return item["created_at"], item["type"] == "order", item["sk"]


def _children_position(pk: str, cursor: str | None) -> tuple[list[str | None], list[bool]]:
    """Where each kind of child (orders, entitlements) stopped, and whether it is done, from a cursor made
    by `children_page` for this very profile (any other is a 422)."""
    kinds = len(keys.CHILD_SK_PREFIXES)
    if not cursor:
        return [None] * kinds, [False] * kinds
    position = decode_cursor(cursor)
    valid = (
        isinstance(position, dict)
        and position.get("profile") == pk
        and isinstance(position.get("after"), list)
        and isinstance(position.get("done"), list)
        and len(position["after"]) == len(position["done"]) == kinds
        and all(
            p is None or (is_key_value(p) and p.startswith(prefix))
            for p, prefix in zip(position["after"], keys.CHILD_SK_PREFIXES, strict=True)
        )
        and all(isinstance(d, bool) for d in position["done"])
    )
    if not valid:
        raise InvalidInput("invalid cursor", field="cursor")
    return list(position["after"]), list(position["done"])
