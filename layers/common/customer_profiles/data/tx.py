"""One small transaction builder: every multi-item write goes through it, all of it or none of it.

DynamoDB cancels a whole transaction for one failed condition, a conflicting concurrent transaction, or
throttling; the reasons come back per item and are parsed here into `TransactionCancelled.reasons`.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from botocore.exceptions import ClientError

from customer_profiles.data import keys
from customer_profiles.data.keys import Key
from customer_profiles.errors import ConcurrentWrite

MAX_ITEMS = 100  # DynamoDB's limit per TransactWriteItems
Reason = Literal["condition_failed", "transaction_conflict", "throttled", "other"]
REASON_OF_CODE: dict[str, Reason] = {
    "ConditionalCheckFailed": "condition_failed",
    "TransactionConflict": "transaction_conflict",
    "ThrottlingError": "throttled",
    "ProvisionedThroughputExceeded": "throttled",
    "RequestLimitExceeded": "throttled",
}


class TransactionCancelled(ConcurrentWrite):
    """Nothing was written. `reasons` holds each cancelled item's reason (index -> reason)."""

    def __init__(self, message: str, reasons: dict[int, Reason]) -> None:
        super().__init__(message)
        self.reasons = reasons
        self.failed_keys: dict[int, str] = {}

    @property
    def throttled(self) -> bool:
        """Only throttling cancelled it: the answer is to slow down (429), not that a write won."""
        return bool(self.reasons) and set(self.reasons.values()) == {"throttled"}

    def __str__(self) -> str:
        failed = "; ".join(f"{key} ({self.reasons[i]})" for i, key in self.failed_keys.items())
        return f"{self.message}{': ' + failed if failed else ''}"


class TooManyItems(Exception):
    """A write planned past DynamoDB's 100-item limit: a bug in the caller's bounds, never sent."""


def parse_cancellation(error: ClientError) -> TransactionCancelled:
    reasons: dict[int, Reason] = {}
    for index, reason in enumerate(error.response.get("CancellationReasons") or []):
        code = reason.get("Code") or "None"
        if code != "None":
            reasons[index] = REASON_OF_CODE.get(code, "other")
    if not reasons and error.response["Error"]["Code"] == "ConditionalCheckFailedException":
        reasons[0] = "condition_failed"
    kinds = ", ".join(sorted(set(reasons.values()))) or "unknown"
    return TransactionCancelled(f"a concurrent change won ({kinds}); nothing was written", reasons)


class Tx:
    """The items of one TransactWriteItems, each with the condition that makes it safe."""

    def __init__(self, table_name: str, *, lineage_days: int = 180) -> None:
        self.table_name = table_name
        self.lineage_days = lineage_days  # how long the moves it records are kept (data/lineage.py)
        self.items: list[dict[str, Any]] = []
        # A check whose failure means something for the caller (the caller's authority, its user) raises this
        # error instead of a retryable ConcurrentWrite.
        self.meanings: dict[int, Exception] = {}

    def _add(
        self,
        operation: str,
        body: dict[str, Any],
        condition: str | None,
        values: dict[str, Any],
        table_name: str | None = None,
    ) -> Tx:
        body = {"TableName": table_name or self.table_name, **body}
        if condition:
            body["ConditionExpression"] = condition
        # `#name` always stands for the attribute `name` (reserved words such as status need it).
        names = {
            token: token[1:] for token in re.findall(r"#\w+", (condition or "") + body.get("UpdateExpression", ""))
        }
        if names:
            body["ExpressionAttributeNames"] = names
        if values:
            body["ExpressionAttributeValues"] = values
        self.items.append({operation: body})
        return self

    def put(self, item: dict[str, Any], condition: str | None = None, **values: Any) -> Tx:
        """Write `item` whole, if `condition` holds (`:name` placeholders come from `values`)."""
        return self._add("Put", {"Item": item}, condition, _placeholders(values))

    def put_in(self, table_name: str, item: dict[str, Any], condition: str, **values: Any) -> Tx:
        """`put` into another table of the same account (a transaction may span tables)."""
        return self._add("Put", {"Item": item}, condition, _placeholders(values), table_name)

    def put_if_new(self, item: dict[str, Any]) -> Tx:
        return self.put(item, "attribute_not_exists(pk)")

    def put_at_version(self, item: dict[str, Any], version: int, also: str | None = None, **values: Any) -> Tx:
        """Replace an item only over the version it was read at (and `also`)."""
        condition = "#version = :expected_version" + (f" AND {also}" if also else "")
        return self.put(item, condition, expected_version=version, **values)

    def update(self, key: Key, expression: str, condition: str | None = None, **values: Any) -> Tx:
        return self._add("Update", {"Key": key, "UpdateExpression": expression}, condition, _placeholders(values))

    def check(self, key: Key, condition: str, *, failing: Exception | None = None, **values: Any) -> Tx:
        """`condition` must hold on `key` when the transaction commits. `failing`: the error to raise when it
        does not (else a retryable ConcurrentWrite, as for every other item)."""
        if failing is not None:
            self.meanings[len(self.items)] = failing
        return self._add("ConditionCheck", {"Key": key}, condition, _placeholders(values))

    def delete(self, key: Key, condition: str | None = None, **values: Any) -> Tx:
        return self._add("Delete", {"Key": key}, condition, _placeholders(values))

    def execute(self, client: Any) -> None:
        if not self.items:
            return
        if len(self.items) > MAX_ITEMS:
            raise TooManyItems(f"a transaction of {len(self.items)} items (DynamoDB takes {MAX_ITEMS})")
        try:
            client.transact_write_items(TransactItems=self.items)
        except ClientError as error:
            if error.response["Error"]["Code"] in ("TransactionCanceledException", "ConditionalCheckFailedException"):
                cancelled = parse_cancellation(error)
                cancelled.failed_keys = {i: self._key_of(i) for i in cancelled.reasons if i < len(self.items)}
                meant = [
                    self.meanings[i]
                    for i, reason in sorted(cancelled.reasons.items())
                    if reason == "condition_failed" and i in self.meanings
                ]
                if meant:
                    raise meant[0] from cancelled
                raise cancelled from error
            raise

    def _key_of(self, index: int) -> str:
        """Which item a cancellation reason is about, for the logs (keys only, never attribute values)."""
        ((operation, body),) = self.items[index].items()
        key = body.get("Key") or {name: body["Item"][name] for name in ("pk", "sk") if name in body["Item"]}
        if "pk" not in key:  # another table's item (an idempotent answer): its id is a hash
            return f"{operation} {body['TableName']} item"
        pk = str(key["pk"])
        if pk.startswith(keys.IDENTIFIER_PREFIX):  # an email or phone: name its kind only
            pk = pk.rsplit("#", 1)[0] + "#..."
        return f"{operation} {pk} / {key['sk']}"


def _placeholders(values: dict[str, Any]) -> dict[str, Any]:
    return {f":{name}": value for name, value in values.items()}
