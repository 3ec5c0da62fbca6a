"""A person's erasure as the table sees it: the user marked `erasing`, the lineage that erasure follows
(profiles merged into theirs, dormant holders folded into them), every copy of what they proved that sits
elsewhere (hints captured on other profiles, sales typed with it), and the last transaction.

Everything is found on base-table keys with strongly consistent reads, never through an index that lags.
"""

from __future__ import annotations

from collections.abc import Sequence

from customer_profiles.data import keys
from customer_profiles.data.claims import CLOSED_CLAIM_LOSES
from customer_profiles.data.codec import Item
from customer_profiles.data.pending import add_pending
from customer_profiles.data.table import KeyCondition, Records
from customer_profiles.data.typed_sales import drop_typed_identifier
from customer_profiles.data.users import add_user, release_identifier
from customer_profiles.models.domain import Identifier, PendingEffect, User
from customer_profiles.ports.identity import TypedSale

# A release deletes two items (the identifier and its copy in the holder's partition): 45 per transaction,
# beside the marking's user, subject and effect, stay under DynamoDB's 100; the effect releases any more.
RELEASES_PER_TRANSACTION = 45
DELETES_PER_TRANSACTION = 99


class ErasureRecords(Records):
    def mark_erasing(
        self, user: User, erasing: User, subject: str | None, identifiers: Sequence[Identifier], effect: PendingEffect
    ) -> None:
        """One transaction: the user (over the version and status read) becomes `erasing`, the subject no
        longer signs in as it (a new sign-up makes a new user), the identifiers it holds are released (a sale
        typed with one goes to a new dormant holder), and the erasure's effect is written."""
        tx = self.db.tx()
        add_user(tx, user, erasing)
        if subject:
            tx.delete(keys.subject_key(subject), "user_id = :user", user=user.user_id)
        for identifier in identifiers[:RELEASES_PER_TRANSACTION]:
            release_identifier(tx, identifier, user.user_id)
        add_pending(tx, effect)
        tx.execute(self.db.client)

    def release_held(self, user_id: str, identifiers: Sequence[Identifier]) -> None:
        """Identifiers still held by `user_id`, released (each guarded by still being theirs)."""
        for start in range(0, len(identifiers), RELEASES_PER_TRANSACTION):
            tx = self.db.tx()
            for identifier in identifiers[start : start + RELEASES_PER_TRANSACTION]:
                release_identifier(tx, identifier, user_id)
            tx.execute(self.db.client)

    def merged_user_ids(self, user_id: str) -> list[str]:
        """The dormant holders folded into `user_id` (its own partition, every page)."""
        return [
            item["merged_user_id"] for item in self._partition(keys.user_key(user_id)["pk"], keys.MERGED_USER_SK_PREFIX)
        ]

    def merged_profile_ids(self, org_id: str, profile_id: str) -> list[str]:
        """The profiles merged into this one (its own partition, every page)."""
        found = self._partition(keys.profile_pk(org_id, profile_id), keys.MERGED_PROFILE_SK_PREFIX)
        return [item["profile_id"] for item in found]

    def profiles_with_hint(self, identifier: Identifier) -> list[tuple[str, str]]:
        """(org, profile) of every profile on which `identifier` was captured."""
        return [(item["org_id"], item["profile_id"]) for item in self._partition(keys.hint_pk(identifier), "")]

    def delete_user_partition(self, user_id: str, *, keep_user: bool) -> int:
        """Every item left in the user's partition (identifier copies, lineage, the user item unless
        `keep_user`): a folded dormant holder after its person's erasure. Returns how many went."""
        user = keys.user_key(user_id)
        found = [i for i in self._partition(user["pk"], "") if not (keep_user and i["sk"] == user["sk"])]
        for start in range(0, len(found), DELETES_PER_TRANSACTION):
            tx = self.db.tx()
            for item in found[start : start + DELETES_PER_TRANSACTION]:
                tx.delete({"pk": item["pk"], "sk": item["sk"]})
            tx.execute(self.db.client)
        return len(found)

    def finish_erasure(self, user: User, event: PendingEffect) -> None:
        """The erasing user's item goes (still erasing, at the version read), with `event` announced."""
        tx = self.db.tx()
        tx.delete(
            keys.user_key(user.user_id),
            "#status = :erasing AND version = :version",
            erasing="erasing",
            version=user.version,
        )
        add_pending(tx, event)
        tx.execute(self.db.client)

    def release_dormant_holder(self, holder: User, released: User, identifiers: Sequence[Identifier]) -> None:
        """A dormant holder whose last profile an org erased: it no longer holds its identifier (a later sale
        typed with it makes a new holder) and keeps no personal field (`released`), in one transaction over
        the version read. A sale placed under it meanwhile conditions on the identifier still being held."""
        tx = self.db.tx()
        add_user(tx, holder, released)
        for identifier in identifiers:
            release_identifier(tx, identifier, holder.user_id)
        tx.execute(self.db.client)

    def forget_typed_pointer(self, identifier: Identifier, pointer: TypedSale) -> None:
        """The pointer under `identifier` gone, and the identifier gone from the sale's other pointers."""
        for other in pointer.typed:
            if other != identifier:
                drop_typed_identifier(self.db, keys.typed_sale_key(other, pointer.org_id, pointer.order_id), identifier)
        self.db.table.delete_item(Key=keys.typed_sale_key(identifier, pointer.org_id, pointer.order_id))

    def forget_open_claims_of(self, org_id: str, profile_id: str) -> int:
        """The open claims of an erased profile's sales lose their contact details (and reminders, which
        have nowhere to go): found from its orders (strongly consistent), never through an index."""
        condition = KeyCondition("pk").eq(keys.profile_pk(org_id, profile_id)) & KeyCondition("sk").begins_with(
            keys.ORDER_SK_PREFIX
        )
        orders = self.db.query_all(
            KeyConditionExpression=condition,
            ConsistentRead=True,
            FilterExpression="attribute_exists(claim_token_hash)",
            ProjectionExpression="claim_token_hash",
        )
        forgotten = 0
        for order in orders:
            done = self.db.update_if(
                keys.claim_key(order["claim_token_hash"]),
                f"REMOVE {CLOSED_CLAIM_LOSES}",
                "#status = :open AND (attribute_exists(email) OR attribute_exists(phone))",
                open="open",
            )
            forgotten += done is not None
        return forgotten

    def _partition(self, pk: str, sk_prefix: str) -> list[Item]:
        condition = KeyCondition("pk").eq(pk)
        if sk_prefix:
            condition = condition & KeyCondition("sk").begins_with(sk_prefix)
        return self.db.query_all(KeyConditionExpression=condition, ConsistentRead=True)
