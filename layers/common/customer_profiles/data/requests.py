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
from typing import Any

from customer_profiles.data import keys
from customer_profiles.data.codec import Item
from customer_profiles.data.table import KeyCondition, Records
from customer_profiles.data.tx import Tx
from customer_profiles.ports.sales import Answered, IdempotentRequest

RETENTION_SECONDS = 24 * 3600


def request_key(request: IdempotentRequest) -> keys.Key:
    """Where the answer to (operation, caller, Idempotency-Key) is kept, in the requests table."""
    return keys.request_key(request.operation, request.caller, request.key)


def answer_read(request: IdempotentRequest) -> dict[str, Any]:
    """The BatchGetItem entry reading a request's answer (strongly consistent: a retry right after the first
    must find it)."""
    return {"Keys": [request_key(request)], "ConsistentRead": True}


def answered_from(items: list[Item], now: float | None = None) -> Answered | None:
    """The live answer among the items read (DynamoDB's TTL deletes expired items up to days late)."""
    now = time.time() if now is None else now
    for item in items:
        if int(item["expiration"]) > now:
            return Answered(payload_sha256=str(item["payload_sha256"]), body=json.loads(str(item["answer"])))
    return None


def add_answer(tx: Tx, table_name: str, request: IdempotentRequest, body: dict[str, Any], *, about: str) -> None:
    """The answer, written only if no live answer holds the key: a concurrent first request's transaction
    then fails as a whole, and its retry reads this answer. `about` is the partition of the profile it tells
    of (a sale's answer holds what staff captured): a reference there (`ANSWER#`, expiring with the answer)
    lets an erasure of that profile find it on the base table, never through an index that lags."""
    now = int(time.time())
    expiration = now + RETENTION_SECONDS
    item = {
        **request_key(request),
        "type": "request_answer",
        "about": about,
        "payload_sha256": request.payload_sha256,
        "answer": json.dumps(body, separators=(",", ":")),  # a string: JSON numbers need no Decimal round trip
        "expiration": expiration,  # the table's TTL attribute
    }
    tx.put_in(table_name, item, "attribute_not_exists(id) OR expiration <= :now", now=now)
    answer_id = request_key(request)["id"]
    tx.put(
        {
            **keys.answer_ref_key(about, answer_id),
            "type": "answer_ref",
            "answer_id": answer_id,
            "expiration": expiration,
        }
    )


class RequestRecords(Records):
    def answers_about(self, org_id: str, profile_id: str) -> list[str]:
        """The ids of the idempotent answers that tell of the profile (its references, strongly consistent)."""
        condition = KeyCondition("pk").eq(keys.profile_pk(org_id, profile_id)) & KeyCondition("sk").begins_with(
            keys.ANSWER_REF_SK_PREFIX
        )
        return [item["answer_id"] for item in self.db.query_all(KeyConditionExpression=condition, ConsistentRead=True)]

    def forget_answers_about(self, org_id: str, profile_id: str) -> int:
        """The idempotent answers that tell of an erased profile, deleted before their 24 hours, with their
        references. Returns how many answers there were."""
        found = self.answers_about(org_id, profile_id)
        about = keys.profile_pk(org_id, profile_id)
        if found:
            table = self._requests_table_for("delete the answers about an erased profile")
            for answer_id in found:
                table.delete_item(Key={"id": answer_id})  # the answer first: its reference is how it is found
                self.db.table.delete_item(Key=keys.answer_ref_key(about, answer_id))
        return len(found)

    def scrub_answers_about(self, org_id: str, profile_id: str, value: str) -> int:
        """The profile's idempotent answers with every string equal to `value` (an erased person's email or
        phone captured there) taken out: a retry still finds its answer (and writes nothing twice), without
        the value. Each over the answer as read. Returns how many changed."""
        found = self.answers_about(org_id, profile_id)
        if not found:
            return 0
        table = self._requests_table_for("scrub an erased identifier from answers")
        changed = 0
        for answer_id in found:
            item = table.get_item(Key={"id": answer_id}, ConsistentRead=True).get("Item")
            if item is None or value.lower() not in str(item["answer"]).lower():
                continue
            scrubbed = json.dumps(_without(json.loads(str(item["answer"])), value.lower()), separators=(",", ":"))
            try:
                table.update_item(
                    Key={"id": answer_id},
                    UpdateExpression="SET answer = :scrubbed",
                    ConditionExpression="answer = :answer",
                    ExpressionAttributeValues={":scrubbed": scrubbed, ":answer": item["answer"]},
                )
                changed += 1
            except table.meta.client.exceptions.ConditionalCheckFailedException:
                continue  # written again meanwhile: its own erasure or retry decides
        return changed

    def _requests_table_for(self, purpose: str) -> Any:
        """The requests table, which a store made without it (an operator's, a script's) cannot `purpose`:
        it raises, so the effect stays pending for one that can, rather than completing without it."""
        if not self.requests_table:
            raise RuntimeError(f"this store was made without the requests table: it cannot {purpose}")
        return self.db.resource.Table(self.requests_table)


def _without(value: Any, gone: str) -> Any:
    """`value` (parsed JSON) with every string equal to `gone` (case aside) made null, and list entries dropped."""
    if isinstance(value, dict):
        return {k: _without(v, gone) for k, v in value.items()}
    if isinstance(value, list):
        return [_without(v, gone) for v in value if not (isinstance(v, str) and v.lower() == gone)]
    if isinstance(value, str) and value.lower() == gone:
        return None
    return value
