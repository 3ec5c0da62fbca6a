"""The order aggregate: orders and their entitlements, children of one profile, in its partition, and in
their user's history (index keys) once the profile has a user. Sales write across aggregates (a dormant
user, identifiers, the profile) in the order's own transaction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from customer_profiles.data import keys
from customer_profiles.data.codec import (
    Item,
    child_from_item,
    decode_cursor,
    encode_cursor,
    entitlement_from_item,
    entitlement_to_item,
    is_key_value,
    order_from_item,
    order_to_item,
    profile_from_item,
)
from customer_profiles.data.consents import add_consents
from customer_profiles.data.moves import (
    ENTITLEMENTS_PER_MOVE,
    add_children_move,
    add_sale_move,
    move_entitlements_of,
)
from customer_profiles.data.profiles import add_profile_changes, profile_holds
from customer_profiles.data.receipts import add_receipt
from customer_profiles.data.requests import add_answer, answer_read, answered_from
from customer_profiles.data.settings import add_settings_check, settings_or_default
from customer_profiles.data.table import KeyCondition, Records, Table
from customer_profiles.data.tx import TransactionCancelled, Tx
from customer_profiles.data.users import add_identifiers, add_user, check_holding, holders_of
from customer_profiles.errors import ConcurrentWrite, InvalidInput, UserGone
from customer_profiles.models.activity import SYSTEM, Actor
from customer_profiles.models.domain import (
    Entitlement,
    EntitlementStatus,
    Holding,
    Identifier,
    Order,
    OrgSettings,
    Profile,
)
from customer_profiles.ports.identity import ProfileChange, TypedSale, TypedSaleMove
from customer_profiles.ports.sales import Answered, IdempotentRequest, SaleWrite

# Orders and entitlements sort between these (`ENT#...`, `ORDER#...`); nothing else of a profile does.
CHILD_SK_RANGE = (keys.ENTITLEMENT_SK_PREFIX, f"{keys.ORDER_SK_PREFIX}~")
MOVES_PER_TRANSACTION = 50  # a Put and a Delete each: DynamoDB's 100 items
MOVE_ROUNDS = 3
# A re-key sets each child's history keys: 99 updates and the profile's check per transaction.
REKEYS_PER_TRANSACTION = 99
REKEY_ROUNDS = 3


def typed_sale_from_item(item: Item) -> TypedSale:
    return TypedSale(
        org_id=item["org_id"],
        profile_id=item["profile_id"],
        order_id=item["order_id"],
        order_created_at=item["order_created_at"],
        entitlement_ids=tuple(item.get("entitlement_ids", [])),
        typed=tuple((kind, value) for kind, value in item.get("typed", [])),
    )


def typed_sale_item(identifier: Identifier, order: Order, entitlement_ids: Sequence[str]) -> Item:
    """Where a proof of `identifier` finds a sale a dormant holder of another of its identifiers has."""
    return {
        **keys.typed_sale_key(identifier, order.org_id, order.order_id),
        "type": "typed_sale",
        "org_id": order.org_id,
        "profile_id": order.profile_id,
        "order_id": order.order_id,
        "order_created_at": order.created_at,
        "entitlement_ids": list(entitlement_ids),
        "typed": [list(t.identifier) for t in order.typed],
    }


def add_order(
    tx: Tx, order: Order, entitlements: Sequence[Entitlement], user_id: str | None, changed_by: Actor = SYSTEM
) -> None:
    tx.put_if_new({**order_to_item(order, user_id), "changed_by": changed_by.stamp()})
    for entitlement in entitlements:
        tx.put_if_new(entitlement_to_item(entitlement, user_id))


def add_sale(tx: Tx, sale: SaleWrite) -> None:
    if sale.new_user:
        add_user(tx, None, sale.new_user)
    elif sale.user_id:  # the holder as planned: not merged (its profiles would strand), not activated meanwhile
        failing = UserGone("the caller's user is not active") if sale.for_the_caller else None
        holder = keys.user_key(sale.user_id)
        if sale.holder_status:
            tx.check(holder, "attribute_exists(pk) AND #status = :status", failing=failing, status=sale.holder_status)
        else:
            condition = "#status IN (:active, :dormant)"  # neither merged (its profiles would strand) nor erasing
            tx.check(holder, condition, failing=failing, active="active", dormant="dormant")
    if sale.claimed_identifiers:
        assert sale.proof and sale.user_id
        add_identifiers(tx, sale.claimed_identifiers, sale.user_id, sale.proof)
    for identifier, holding in sale.holdings.items():
        if identifier not in sale.claimed_identifiers:
            check_holding(tx, identifier, holding)
    for identifier in sale.pointers:
        tx.put(typed_sale_item(identifier, sale.order, [e.entitlement_id for e in sale.entitlements]))
    if sale.new_profile:
        add_profile_changes(tx, [ProfileChange(None, sale.new_profile, changed_by=sale.changed_by)])
    else:
        holds, values = profile_holds(sale.user_id)
        tx.check(keys.profile_key(sale.order.org_id, sale.order.profile_id), holds, **values)
    add_order(tx, sale.order, sale.entitlements, sale.user_id, sale.changed_by)
    if sale.receipt:
        add_receipt(tx, *sale.receipt)
    add_consents(tx, sale.order.org_id, sale.order.profile_id, sale.consents)
    if sale.settings is not None:
        add_settings_check(tx, sale.settings)


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
        self, request: IdempotentRequest, identifiers: Sequence[Identifier], *, settings_of: str | None = None
    ) -> tuple[Answered | None, dict[Identifier, Holding], OrgSettings | None]:
        """A sale's first read: its earlier answer, if any, who holds each identifier typed, and (`settings_of`
        an org) that org's settings, all strongly consistent in one request."""
        reads = {self.requests_table: answer_read(request)}
        wanted = [keys.identifier_key(i) for i in identifiers]
        if settings_of:
            wanted.append(keys.org_settings_key(settings_of))
        if wanted:
            reads[self.db.name] = {"Keys": wanted, "ConsistentRead": True}
        found = self.db.batch_get_across(reads)
        items = found.get(self.db.name, [])
        settings = None
        if settings_of:
            settings_key = keys.org_settings_key(settings_of)
            stored = next((i for i in items if i["pk"] == settings_key["pk"] and i["sk"] == settings_key["sk"]), None)
            settings = settings_or_default(settings_of, stored)
            items = [i for i in items if i is not stored]
        return answered_from(found[self.requests_table]), holders_of(items), settings

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
        with ids made before ids were time-ordered (`clock.time_ordered_id`) come after every newer one,
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

    def get_order(self, org_id: str, profile_id: str, created_at: str, order_id: str) -> Order | None:
        item = self.db.get(keys.order_key(org_id, profile_id, created_at, order_id))
        return order_from_item(item) if item else None

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
        # It reached its person by `move.identifier`: the other identifiers it was typed with (someone else's,
        # perhaps) stay neither on it nor under their pointers, which go below.
        order = order.model_copy(update={"typed": [t for t in order.typed if t.identifier == move.identifier]})
        entitlements = self.entitlements_by_ids(order.org_id, move.source.profile_id, typed.entitlement_ids)
        tx = self.db.tx()
        add_sale_move(tx, order, entitlements, move.source, move.target, holder=move.holder, reached_at=reached_at)
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

    def pseudonymise_children(self, org_id: str, profile_id: str) -> int:
        """Take the user and the history keys off an erased profile's orders and entitlements: they stay for
        the org's accounts but no longer lead to a person. Reads only those still keyed; a redelivery
        changes nothing. Returns how many changed."""
        changed = 0
        for item in self.children(
            org_id,
            profile_id,
            FilterExpression="attribute_exists(user_id) OR attribute_exists(gsi1pk) OR attribute_exists(typed)",
            ProjectionExpression="pk, sk, order_id, typed",
        ):
            for typed in item.get("typed") or []:  # the sale's pointers hold what it was typed with too
                identifier = (typed["kind"], typed["value"])
                self.db.table.delete_item(Key=keys.typed_sale_key(identifier, org_id, item["order_id"]))
            updated = self.db.update_if(
                {"pk": item["pk"], "sk": item["sk"]},
                "REMOVE user_id, gsi1pk, gsi1sk, gsi2pk, gsi2sk, typed",
                "attribute_exists(pk)",
            )
            changed += updated is not None
        return changed

    def rekey_children(self, org_id: str, profile_id: str, user_id: str) -> int:
        """Give the profile's orders and entitlements the user's history keys, in transactions of up to 99
        children, each with a check that the profile is still the user's (a newer re-key owns it otherwise);
        returns how many changed. Setting the same keys twice changes nothing, so a redelivery is harmless."""
        changed = 0
        # Only the children still to re-key, and only what the update needs of them.
        projection = "pk, sk, #type, order_id, entitlement_id, created_at"
        for _ in range(REKEY_ROUNDS):
            found = self.children(
                org_id,
                profile_id,
                FilterExpression="attribute_not_exists(user_id) OR user_id <> :user",
                ProjectionExpression=projection,
                ExpressionAttributeNames={"#type": "type"},
                ExpressionAttributeValues={":user": user_id},
            )
            if not found:
                return changed
            try:
                for start in range(0, len(found), REKEYS_PER_TRANSACTION):
                    tx = self.db.tx().check(keys.profile_key(org_id, profile_id), "user_id = :user", user=user_id)
                    for item in found[start : start + REKEYS_PER_TRANSACTION]:
                        child_id = item["order_id"] if item["type"] == "order" else item["entitlement_id"]
                        history = keys.history_keys(user_id, org_id, item["created_at"], child_id)
                        tx.update(
                            {"pk": item["pk"], "sk": item["sk"]},
                            "SET user_id = :user, " + ", ".join(f"{name} = :{name}" for name in history),
                            "attribute_exists(pk)",
                            user=user_id,
                            **history,
                        )
                    tx.execute(self.db.client)
                    changed += len(tx.items) - 1
            except TransactionCancelled as cancelled:
                if (
                    cancelled.reasons.get(0) == "condition_failed"
                ):  # the profile changed hands again: its newer re-key does the rest
                    return changed
                continue  # a child moved away meanwhile: read again
            return changed
        raise ConcurrentWrite(f"the children of profile {profile_id} kept moving while re-keyed; retry")

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
                    tx.execute(self.db.client)
                    moved += len(chunk)
            except TransactionCancelled:
                continue  # a child changed meanwhile: read what is left again
            return moved
        raise ConcurrentWrite(f"the children of profile {source.profile_id} kept changing while moved; retry")


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
