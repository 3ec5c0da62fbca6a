"""The table handle every aggregate module reads and writes through: reads that are complete by construction.

Every BatchGetItem retries its `UnprocessedKeys` with backoff, and every Query that must be complete
follows `LastEvaluatedKey` to the end: under throttling or past 1 MB, DynamoDB answers in part, and code
that decides on a part decides wrong while passing every local test.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from botocore.exceptions import ClientError

from customer_profiles.data.codec import Item
from customer_profiles.data.cursors import MergedCursor, decode_key_cursor, encode_cursor
from customer_profiles.data.keys import Key
from customer_profiles.data.tx import Tx
from customer_profiles.retry import backoff

BATCH_GET_LIMIT = 100
MAX_UNPROCESSED_ROUNDS = 8


def KeyCondition(name: str) -> Any:
    """boto3's key-condition builder, imported on first use: importing boto3 is most of a function's import
    time, and with SnapStart the store (and so boto3) is built by the before-snapshot hook instead."""
    from boto3.dynamodb.conditions import Key

    return Key(name)


class IncompleteRead(Exception):
    """DynamoDB kept some keys unprocessed past every retry: the caller must not decide on a part."""


class Table:
    def __init__(self, table_name: str, dynamodb: Any | None = None, *, sleep: Callable[[float], None] = time.sleep):
        self.name = table_name
        self.lineage_days = 180  # the deployment's LINEAGE_RETENTION_DAYS, set by the store
        if dynamodb is None:
            import boto3  # see KeyCondition

            dynamodb = boto3.resource("dynamodb")
        self.resource = dynamodb
        self.table = self.resource.Table(table_name)
        self.client = self.resource.meta.client
        self._sleep = sleep
        # Conditions every transaction through this handle carries (the acting staff member's authority).
        self.standing: tuple[Callable[[Tx], None], ...] = ()

    def tx(self) -> Tx:
        tx = Tx(self.name, lineage_days=self.lineage_days)
        for condition in self.standing:
            condition(tx)
        return tx

    def with_standing(self, condition: Callable[[Tx], None]) -> Table:
        """This handle (same client), whose every transaction also carries `condition`."""
        bound = copy.copy(self)
        bound.standing = (*self.standing, condition)
        return bound

    def prime(self) -> None:
        """One GetItem answered in-process, not over the network: botocore builds its per-client request paths
        (serializer, endpoint, signer, parser) on a client's first call, which SnapStart then keeps in the
        snapshot (edge/snapstart.py). No connection is opened, so none goes stale in the snapshot."""
        import encodings.idna  # noqa: F401 - the first connection's host lookup imports it (and stringprep)

        from botocore.awsrequest import AWSResponse, HTTPHeaders

        class Empty:
            def stream(self, **_: Any) -> Iterator[bytes]:
                yield b"{}"

        def answer(**_: Any) -> AWSResponse:
            return AWSResponse("https://dynamodb.invalid", 200, HTTPHeaders(), Empty())

        self.client.meta.events.register_first("before-send.dynamodb", answer)
        try:
            self.client.get_item(TableName=self.name, Key={"pk": "priming", "sk": "priming"})
        finally:
            self.client.meta.events.unregister("before-send.dynamodb", answer)

    def connect(self) -> None:
        """Open the client's connection to DynamoDB with the cheapest real request (an eventually consistent
        GetItem of a key nothing has), for a SnapStart environment just restored (edge/snapstart.py)."""
        self.client.get_item(TableName=self.name, Key={"pk": "connection", "sk": "connection"})

    def get(self, key: Key, *, consistent: bool = True) -> Item | None:
        return self.table.get_item(Key=key, ConsistentRead=consistent).get("Item")

    def update_if(self, key: Key, expression: str, condition: str, **values: Any) -> Item | None:
        """One guarded UpdateItem: the item as it is after, or None when the condition did not hold."""
        tx = Tx(self.name).update(key, expression, condition, **values)
        try:
            return self.client.update_item(**tx.items[0]["Update"], ReturnValues="ALL_NEW")["Attributes"]
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return None
            raise

    def batch_get(self, keys: Sequence[Key], *, consistent: bool = True, projection: str | None = None) -> list[Item]:
        """Every item that exists among `keys` (in no particular order), whatever DynamoDB leaves unprocessed."""
        unique = list({(k["pk"], k["sk"]): k for k in keys}.values())
        found: list[Item] = []
        for start in range(0, len(unique), BATCH_GET_LIMIT):
            request: dict[str, Any] = {"Keys": unique[start : start + BATCH_GET_LIMIT], "ConsistentRead": consistent}
            if projection:  # attribute names as `#name`, like every expression here
                request["ProjectionExpression"] = projection
                request["ExpressionAttributeNames"] = {f"#{n}": n for n in projection.replace("#", "").split(", ")}
            found += self.batch_get_across({self.name: request}).get(self.name, [])
        return found

    def batch_get_across(self, requests: dict[str, dict[str, Any]]) -> dict[str, list[Item]]:
        """One BatchGetItem over several tables (each table's request as DynamoDB takes it, at most 100 keys in
        all), retrying its `UnprocessedKeys`: the items found, by table."""
        found: dict[str, list[Item]] = {name: [] for name in requests}
        pending = requests
        for attempt in range(MAX_UNPROCESSED_ROUNDS):
            response = self.client.batch_get_item(RequestItems=pending)
            for name, items in response["Responses"].items():
                found[name] += items
            pending = {name: left for name, left in (response.get("UnprocessedKeys") or {}).items() if left.get("Keys")}
            if not pending:
                return found
            self._sleep(backoff(attempt))
        raise IncompleteRead(f"{sum(len(left['Keys']) for left in pending.values())} keys stayed unprocessed")

    def query_pages(self, **arguments: Any) -> Iterator[dict[str, Any]]:
        """Every page of a Query, following LastEvaluatedKey to the end."""
        while True:
            response = self.table.query(**arguments)
            yield response
            if "LastEvaluatedKey" not in response:
                return
            arguments = {**arguments, "ExclusiveStartKey": response["LastEvaluatedKey"]}

    def query_all(self, **arguments: Any) -> list[Item]:
        return [item for page in self.query_pages(**arguments) for item in page["Items"]]

    def merged_page(
        self,
        queries: Sequence[dict[str, Any]],
        position: MergedCursor[Item],
        *,
        limit: int,
        rank: Callable[[Item], Any],
        start_of: Callable[[int, Item], Item],
    ) -> tuple[list[Item], MergedCursor[Item]]:
        """One page of at most `limit` items over several descending Queries, greatest `rank` first: each
        Query not done at `position` reads `limit` + 1 items from its start key. Returns the page and the
        position after it (where each Query stopped: `start_of` its last item taken, the ExclusiveStartKey that
        resumes after it; and which are done), so that every item appears on exactly one page."""
        starts, done = list(position.starts), list(position.done)
        fetched: list[list[Item]] = []
        more: list[bool] = []
        for query, start, finished in zip(queries, starts, done, strict=True):
            if finished:
                fetched.append([])
                more.append(False)
                continue
            arguments = {**query, "ScanIndexForward": False, "Limit": limit + 1}
            if start:
                arguments["ExclusiveStartKey"] = start
            response = self.table.query(**arguments)
            fetched.append(response["Items"])
            more.append("LastEvaluatedKey" in response)
        taken = [0] * len(fetched)
        page: list[Item] = []
        while len(page) < limit:
            heads = [(i, items[taken[i]]) for i, items in enumerate(fetched) if taken[i] < len(items)]
            # A Query whose fetched items ran out while the table holds more (a Query cut at 1 MB) could hold
            # the next greatest item: the page ends here rather than skip it.
            if not heads or any(taken[i] == len(items) and more[i] for i, items in enumerate(fetched)):
                break
            source, item = max(heads, key=lambda head: rank(head[1]))
            page.append(item)
            taken[source] += 1
            starts[source] = start_of(source, item)
        for source, items in enumerate(fetched):
            if not done[source]:
                done[source] = taken[source] == len(items) and not more[source]
        return page, position.advanced(starts, done)


class Records:
    """Base of the aggregate modules' record classes: each reads and writes through one `Table`."""

    db: Table
    requests_table: str

    def page(
        self,
        index: str | None,
        partition: tuple[str, str],
        sort_prefix: tuple[str, str],
        *,
        limit: int,
        cursor: str | None,
        forward: bool,
    ) -> tuple[list[Item], str | None]:
        """One page of a query (of an index, or of the table when `index` is None) under a sort-key prefix;
        the cursor resumes exactly there."""
        (pk_attribute, pk_value), (sk_attribute, prefix) = partition, sort_prefix
        arguments: dict[str, Any] = {
            **({"IndexName": index} if index else {"ConsistentRead": True}),
            "KeyConditionExpression": KeyCondition(pk_attribute).eq(pk_value)
            & KeyCondition(sk_attribute).begins_with(prefix),
            "ScanIndexForward": forward,
            "Limit": limit,
        }
        start = decode_key_cursor(
            cursor, partition_attribute=pk_attribute, partition_value=pk_value, sort_prefix=prefix
        )
        if start:
            arguments["ExclusiveStartKey"] = start
        response = self.db.table.query(**arguments)
        return response["Items"], encode_cursor(response.get("LastEvaluatedKey"))
