"""Lineage as the table keeps it: each move written in the transaction that makes it (`add_move`), with the
table's TTL set to the deployment's retention time, and a reference under each email and phone it keeps
(`KEPT#`), where the erasure of whoever proved one finds it.

A move is the one place a sale's other typed identifiers survive its move to the person who proved one
(docs/decisions.md, undo): the order itself keeps only the identifier that moved it.
"""

from __future__ import annotations

from datetime import datetime

from customer_profiles.clock import time_ordered_id
from customer_profiles.data import keys
from customer_profiles.data.codec import Item, move_from_item, move_to_item
from customer_profiles.data.table import KeyCondition, Records
from customer_profiles.data.tx import Tx
from customer_profiles.models.activity import Actor
from customer_profiles.models.domain import Identifier, Move, MoveSubject, Order

DAY_SECONDS = 86_400
DELETES_PER_TRANSACTION = 99


def expiration_of(move: Move, days: int) -> int:
    """When DynamoDB may delete the move (epoch seconds): `days` after it was made."""
    return int(datetime.fromisoformat(move.at).timestamp()) + days * DAY_SECONDS


def kept_identifiers(move: Move) -> list[Identifier]:
    """Every email and phone the move keeps (what its sale was typed with, what a survivor took over)."""
    found: list[Identifier] = [t.identifier for t in move.typed]
    found += [("email", e) for e in move.emails] + [("phone", p) for p in move.phones]
    return list(dict.fromkeys(found))


def add_move(tx: Tx, move: Move) -> None:
    """The move, kept for the transaction's retention time, and a reference under each identifier it keeps, in
    the transaction that makes the move: a cancelled one keeps nothing, so each move is kept once."""
    expiration = expiration_of(move, tx.lineage_days)
    item = move_to_item(move, expiration)
    tx.put(item)
    key = {"pk": item["pk"], "sk": item["sk"]}
    for identifier in kept_identifiers(move):
        tx.put({**keys.kept_key(identifier, key), "type": "kept", "expiration": expiration})


def placement_move(order: Order, user_id: str | None, by: Actor) -> Move:
    """A sale typed with identifiers, as it was placed: the one record of every identifier it was typed with
    that stays whoever proves one later (the order keeps only its person's), so that a disown can follow them."""
    return Move(
        move_id=time_ordered_id(order.created_at),
        org_id=order.org_id,
        profile_id=order.profile_id,
        subject="order",
        order_id=order.order_id,
        kind="sale",
        at=order.created_at,
        by=by.stamp(),
        to_profile_id=order.profile_id,
        to_user_id=user_id,
        order_ids=[order.order_id],
        typed=list(order.typed),
    )


def _without(item: Item, identifier: Identifier) -> dict[str, list]:
    kind, value = identifier
    return {
        "typed": [t for t in item.get("typed") or [] if (t.get("kind"), t.get("value")) != identifier],
        "emails": [e for e in item.get("emails") or [] if not (kind == "email" and e == value)],
        "phones": [p for p in item.get("phones") or [] if not (kind == "phone" and p == value)],
    }


class LineageRecords(Records):
    def moves_of(self, org_id: str, profile_id: str, subject: MoveSubject, order_id: str | None = None) -> list[Move]:
        """A profile's moves of one subject, oldest first (strongly consistent, every page), including any past
        its retention that DynamoDB has not deleted yet: the caller compares `expires_at` with the time."""
        condition = KeyCondition("pk").eq(keys.profile_pk(org_id, profile_id)) & KeyCondition("sk").begins_with(
            keys.moves_sk_prefix(subject, order_id)
        )
        return [move_from_item(i) for i in self.db.query_all(KeyConditionExpression=condition, ConsistentRead=True)]

    def forget_moves_of_profile(self, org_id: str, profile_id: str) -> int:
        """Every move kept in an erased profile's partition, with its references: they name its person."""
        condition = KeyCondition("pk").eq(keys.profile_pk(org_id, profile_id)) & KeyCondition("sk").begins_with(
            keys.MOVE_SK_PREFIX
        )
        found = self.db.query_all(KeyConditionExpression=condition, ConsistentRead=True)
        doomed: list[keys.Key] = []
        for item in found:
            key = {"pk": item["pk"], "sk": item["sk"]}
            doomed += [key, *(keys.kept_key(i, key) for i in kept_identifiers(move_from_item(item)))]
        for start in range(0, len(doomed), DELETES_PER_TRANSACTION):
            tx = self.db.tx()
            for key in doomed[start : start + DELETES_PER_TRANSACTION]:
                tx.delete(key)
            tx.execute(self.db.client)
        return len(found)

    def forget_kept(self, identifier: Identifier) -> int:
        """An erased person's email or phone out of every move that keeps it, and its references gone. Each
        move is written over its lists as read (two identifiers leaving one move never put each other back)."""
        condition = KeyCondition("pk").eq(keys.kept_pk(identifier))
        refs = self.db.query_all(KeyConditionExpression=condition, ConsistentRead=True)
        for ref in refs:
            pk, sk = ref["sk"].split("|", 1)
            self._drop_kept({"pk": pk, "sk": sk}, identifier)
            self.db.table.delete_item(Key={"pk": ref["pk"], "sk": ref["sk"]})
        return len(refs)

    def _drop_kept(self, key: keys.Key, identifier: Identifier) -> None:
        for _ in range(3):
            item = self.db.get(key)
            if item is None:
                return
            kept = _without(item, identifier)
            if all(kept[name] == (item.get(name) or []) for name in kept):
                return
            was = {f"was_{name}": item.get(name) or [] for name in kept}
            done = self.db.update_if(
                key,
                "SET typed = :typed, emails = :emails, phones = :phones",
                "typed = :was_typed AND emails = :was_emails AND phones = :was_phones",
                **kept,
                **was,
            )
            if done is not None:
                return
