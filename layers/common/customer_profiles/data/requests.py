"""Idempotent requests: the first answer to (operation, caller, Idempotency-Key), kept 24 hours in the requests
table and written in the same transaction as the request's own writes.

So a retry finds either nothing written, or everything written and the answer: there is no "in progress"
state between the two (Powertools' idempotency writes its record in a request of its own before and after
the work: two more round trips, and a window in which a retry must be refused with 409). A retry reads the
answer together with what the request itself reads (`batch_get_across`), so a replay is one request.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from customer_profiles.data import keys
from customer_profiles.data.codec import Item
from customer_profiles.data.table import KeyCondition, Records
from customer_profiles.data.tx import Tx

RETENTION_SECONDS = 24 * 3600


@dataclass(frozen=True)
class IdempotentRequest:
    """One request under its Idempotency-Key; `payload_sha256` tells a retry from another request."""

    operation: str
    caller: str
    key: str
    payload_sha256: str

    @property
    def item_key(self) -> keys.Key:
        return keys.request_key(self.operation, self.caller, self.key)


@dataclass(frozen=True)
class Answered:
    """What the first request with this key answered, and the hash of the payload it carried."""

    payload_sha256: str
    body: dict[str, Any]


def answer_read(request: IdempotentRequest) -> dict[str, Any]:
    """The BatchGetItem entry reading a request's answer (strongly consistent: a retry right after the first
    must find it)."""
    return {"Keys": [request.item_key], "ConsistentRead": True}


def answered_from(items: list[Item], now: float | None = None) -> Answered | None:
    """The live answer among the items read (DynamoDB's TTL deletes expired items up to days late)."""
    now = time.time() if now is None else now
    for item in items:
        if int(item["expiration"]) > now:
            return Answered(payload_sha256=str(item["payload_sha256"]), body=json.loads(str(item["answer"])))
    return None


ABOUT_INDEX = "by_profile"  # the requests table's answers by the profile they tell of (erasure finds them)


def add_answer(tx: Tx, table_name: str, request: IdempotentRequest, body: dict[str, Any], *, about: str) -> None:
    """The answer, written only if no live answer holds the key: a concurrent first request's transaction
    then fails as a whole, and its retry reads this answer. `about` names the profile it tells of (a sale's
    answer holds what staff captured): an erasure of that profile deletes it."""
    now = int(time.time())
    item = {
        **request.item_key,
        "type": "request_answer",
        "about": about,
        "payload_sha256": request.payload_sha256,
        "answer": json.dumps(body, separators=(",", ":")),  # a string: JSON numbers need no Decimal round trip
        "expiration": now + RETENTION_SECONDS,  # the table's TTL attribute
    }
    tx.put_in(table_name, item, "attribute_not_exists(id) OR expiration <= :now", now=now)


class RequestRecords(Records):
    def forget_answers_about(self, org_id: str, profile_id: str) -> int:
        """The idempotent answers that tell of an erased profile (a sale's answer holds what staff captured),
        deleted before their 24 hours: found by the requests table's index, every page."""
        if not self.requests_table:
            return 0
        table = self.db.resource.Table(self.requests_table)
        about = keys.profile_pk(org_id, profile_id)
        arguments = {"IndexName": ABOUT_INDEX, "KeyConditionExpression": KeyCondition("about").eq(about)}
        found = 0
        while True:
            page = table.query(**arguments)
            for item in page["Items"]:
                table.delete_item(Key={"id": item["id"]})
                found += 1
            if "LastEvaluatedKey" not in page:
                return found
            arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]
