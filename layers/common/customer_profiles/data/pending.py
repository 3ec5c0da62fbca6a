"""Pending effects: what the stream drives (linking, re-keying, events, notifications), each written in its
cause's transaction and deleted only once it is done."""

from __future__ import annotations

from botocore.exceptions import ClientError

from customer_profiles.data import keys
from customer_profiles.data.codec import pending_from_item, pending_to_item
from customer_profiles.data.table import KeyCondition, Records
from customer_profiles.data.tx import Tx
from customer_profiles.models.domain import PendingEffect


def add_pending(tx: Tx, effect: PendingEffect) -> None:
    tx.put_if_new(pending_to_item(effect))


class PendingRecords(Records):
    def put_pending(self, effect: PendingEffect) -> bool:
        """A pending effect of its own (one PutItem), not a write's: False when it is there already."""
        try:
            self.db.table.put_item(Item=pending_to_item(effect), ConditionExpression="attribute_not_exists(pk)")
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def get_pending(self, effect: PendingEffect) -> PendingEffect | None:
        """The effect as stored now (strongly consistent): None once it is done."""
        item = self.db.get(keys.pending_key(effect.kind, effect.effect_id))
        return pending_from_item(item) if item else None

    def all_pending(self) -> list[PendingEffect]:
        """Every pending effect, oldest first (every shard, every page)."""
        items = [
            item
            for shard in range(keys.PENDING_SHARDS)
            for item in self.db.query_all(
                IndexName=keys.BY_ORG_INDEX,
                KeyConditionExpression=KeyCondition("gsi2pk").eq(keys.pending_shard_pk(shard)),
            )
        ]
        return [pending_from_item(i) for i in sorted(items, key=lambda i: i["gsi2sk"])]

    def complete_pending(self, effect: PendingEffect) -> None:
        self.db.table.delete_item(Key=keys.pending_key(effect.kind, effect.effect_id))
