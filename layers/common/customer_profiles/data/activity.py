"""A profile's activity trail: entries written once per stream record, read newest first."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from botocore.exceptions import ClientError

from customer_profiles.data import keys
from customer_profiles.data.codec import activity_from_item, activity_to_item, org_activity_to_item
from customer_profiles.data.cursors import decode_key_cursor, encode_cursor
from customer_profiles.data.table import KeyCondition, Records
from customer_profiles.models.activity import ActivityEntry


class ActivityRecords(Records):
    def add_activity(self, record_id: str, entries: Sequence[tuple[str, str, ActivityEntry]]) -> int:
        """Each entry unless the record wrote it before (a redelivery); returns how many were new. An entry's
        index counts the record's entries on the same profile, so the key does not depend on the others."""
        seen: Counter[tuple[str, str]] = Counter()
        items = []
        for org_id, profile_id, entry in entries:
            index = seen[org_id, profile_id]
            seen[org_id, profile_id] += 1
            items.append(activity_to_item(org_id, profile_id, entry, record_id, index))
        return self._put_new(items)

    def add_org_activity(self, record_id: str, entries: Sequence[tuple[str, ActivityEntry]]) -> int:
        """Entries on orgs' own trails, each once per record (as `add_activity`)."""
        seen: Counter[str] = Counter()
        items = []
        for org_id, entry in entries:
            items.append(org_activity_to_item(org_id, entry, record_id, seen[org_id]))
            seen[org_id] += 1
        return self._put_new(items)

    def _put_new(self, items: Sequence[dict[str, object]]) -> int:
        written = 0
        for item in items:
            try:
                self.db.table.put_item(Item=item, ConditionExpression="attribute_not_exists(pk)")
            except ClientError as error:
                if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                    raise
                continue
            written += 1
        return written

    def activity_page(
        self, org_id: str, profile_id: str, *, limit: int, cursor: str | None
    ) -> tuple[list[ActivityEntry], str | None]:
        """One page, newest first; the cursor is the last entry's key, taken back only for this profile."""
        return self._trail_page(keys.activity_pk(org_id, profile_id), limit=limit, cursor=cursor)

    def org_activity_page(
        self, org_id: str, *, limit: int, cursor: str | None
    ) -> tuple[list[ActivityEntry], str | None]:
        """One page of the org's own trail, newest first (as `activity_page`)."""
        return self._trail_page(keys.org_activity_pk(org_id), limit=limit, cursor=cursor)

    def _trail_page(self, pk: str, *, limit: int, cursor: str | None) -> tuple[list[ActivityEntry], str | None]:
        arguments = {
            "KeyConditionExpression": KeyCondition("pk").eq(pk),
            "ScanIndexForward": False,
            "Limit": limit,
            "ConsistentRead": True,
        }
        start = decode_key_cursor(cursor, partition_attribute="pk", partition_value=pk)
        if start is not None:
            arguments["ExclusiveStartKey"] = start
        response = self.db.table.query(**arguments)
        items = response["Items"]
        last = response.get("LastEvaluatedKey")
        if last and len(items) == limit:
            # DynamoDB may stop exactly at the end: look one further so the last page says so.
            more = self.db.table.query(**{**arguments, "ExclusiveStartKey": last, "Limit": 1})["Items"]
            last = last if more else None
        return [activity_from_item(i) for i in items], encode_cursor(
            {"pk": last["pk"], "sk": last["sk"]} if last else None
        )
