"""A user's history: the index keys that list a profile's orders and entitlements under its user (across
orgs, and per org), set when the profile changes hands and taken off when it is erased."""

from __future__ import annotations

from customer_profiles.data import keys
from customer_profiles.data.codec import Item, child_from_item
from customer_profiles.data.orders import OrderRecords
from customer_profiles.data.tx import TransactionCancelled, Tx
from customer_profiles.errors import ConcurrentWrite
from customer_profiles.models.domain import Entitlement, Order

# A re-key sets each child's history keys: 99 updates and the profile's check per transaction.
REKEYS_PER_TRANSACTION = 99
REKEY_ROUNDS = 3


class HistoryRecords(OrderRecords):
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

    def rekey_children(self, org_id: str, profile_id: str, user_id: str | None) -> int:
        """Give the profile's orders and entitlements the user's history keys (`user_id` None: take them off,
        the profile has no user now), in transactions of up to 99 children, each with a check that the
        profile is still the user's (a newer re-key owns it otherwise); returns how many changed. Setting the
        same keys twice changes nothing, so a redelivery is harmless."""
        changed = 0
        for _ in range(REKEY_ROUNDS):
            found = self._to_rekey(org_id, profile_id, user_id)
            if not found:
                return changed
            try:
                for start in range(0, len(found), REKEYS_PER_TRANSACTION):
                    tx = self.db.tx()
                    if user_id:
                        tx.check(keys.profile_key(org_id, profile_id), "user_id = :user", user=user_id)
                    else:
                        tx.check(keys.profile_key(org_id, profile_id), "attribute_not_exists(user_id)")
                    for item in found[start : start + REKEYS_PER_TRANSACTION]:
                        _add_rekey(tx, org_id, item, user_id)
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

    def _to_rekey(self, org_id: str, profile_id: str, user_id: str | None) -> list[Item]:
        """Only the children still to re-key, and only what the update needs of them."""
        projection = {
            "ProjectionExpression": "pk, sk, #type, order_id, entitlement_id, created_at",
            "ExpressionAttributeNames": {"#type": "type"},
        }
        if user_id is None:
            wanted = "attribute_exists(user_id) OR attribute_exists(gsi1pk)"
            return self.children(org_id, profile_id, FilterExpression=wanted, **projection)
        return self.children(
            org_id,
            profile_id,
            FilterExpression="attribute_not_exists(user_id) OR user_id <> :user",
            ExpressionAttributeValues={":user": user_id},
            **projection,
        )


def _add_rekey(tx: Tx, org_id: str, item: Item, user_id: str | None) -> None:
    key = {"pk": item["pk"], "sk": item["sk"]}
    if user_id is None:
        tx.update(key, "REMOVE user_id, gsi1pk, gsi1sk, gsi2pk, gsi2sk", "attribute_exists(pk)")
        return
    child_id = item["order_id"] if item["type"] == "order" else item["entitlement_id"]
    history = keys.history_keys(user_id, org_id, item["created_at"], child_id)
    tx.update(
        key,
        "SET user_id = :user, " + ", ".join(f"{name} = :{name}" for name in history),
        "attribute_exists(pk)",
        user=user_id,
        **history,
    )
