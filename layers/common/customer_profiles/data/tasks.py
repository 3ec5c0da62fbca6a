"""Link tasks: a merged user's profiles still to move to the person, pending until the linker is done."""

from __future__ import annotations

from boto3.dynamodb.conditions import Key as KeyCondition

from customer_profiles.data import keys
from customer_profiles.data.table import Records


class TaskRecords(Records):
    def pending_link_tasks(self) -> list[tuple[str, str]]:
        """Every pending task, oldest first (all pages: a re-drive that stopped at one would report success
        with tasks left)."""
        items = self.db.query_all(
            IndexName=keys.BY_ORG_INDEX, KeyConditionExpression=KeyCondition("gsi2pk").eq(keys.PENDING_LINK_TASKS)
        )
        return [(i["from_user_id"], i["to_user_id"]) for i in items]

    def complete_link_task(self, from_user_id: str) -> None:
        self.db.table.delete_item(Key=keys.link_task_key(from_user_id))
