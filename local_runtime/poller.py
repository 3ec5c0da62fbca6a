"""Feeds DynamoDB streams to functions as Lambda's event source mapping does.

The logic (shards, batches, partial failures, retries, bisection, on-failure records) is in ``StreamPoller`` and
works on any ``StreamSource``; ``DynamoDBStreamSource`` is the boto3 implementation for DynamoDB Local.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from local_runtime.chaos import Chaos, deliver_with_chaos
from local_runtime.pool import InvokeResult
from local_runtime.template import REGION, StreamSourceSpec

Invoke = Callable[[dict[str, Any]], InvokeResult]


@dataclass
class Shard:
    shard_id: str
    parent_shard_id: str | None = None


class ExpiredIterator(Exception):
    """The shard iterator expired: get a new one after the last processed record."""


class StreamSource(Protocol):
    stream_arn: str

    def shards(self) -> list[Shard]: ...

    def iterator(self, shard_id: str, after_sequence_number: str | None) -> str: ...

    def records(self, iterator: str, limit: int) -> tuple[list[dict[str, Any]], str | None]:
        """Records (in Lambda's record shape, without eventSourceARN) and the next iterator (None: shard ended)."""
        ...


class FailureSink(Protocol):
    def __call__(self, record: dict[str, Any]) -> None: ...


def jsonl_sink(path: str) -> FailureSink:
    """An on-failure destination that appends each record as a JSON line."""
    lock = threading.Lock()

    def write(record: dict[str, Any]) -> None:
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        with lock, open(path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(record) + "\n")

    return write


@dataclass
class _ShardState:
    shard: Shard
    iterator: str | None = None
    started: bool = False
    ended: bool = False
    last_sequence: str | None = None
    buffer: list[dict[str, Any]] = field(default_factory=list)


def _seq(record: dict[str, Any]) -> str:
    return str(record["dynamodb"]["SequenceNumber"])


def _arrival(record: dict[str, Any]) -> str:
    ts = record["dynamodb"].get("ApproximateCreationDateTime") or time.time()
    return dt.datetime.fromtimestamp(float(ts), dt.UTC).isoformat().replace("+00:00", "Z")


class StreamPoller:
    """One event source mapping: a stream, a function and its settings."""

    def __init__(
        self,
        source: StreamSource,
        invoke: Invoke,
        spec: StreamSourceSpec,
        on_failure: FailureSink,
        *,
        function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:local",
        retry_delay: float = 0.0,
        log: Callable[[str], None] | None = None,
        chaos: Chaos | None = None,
    ) -> None:
        self.source = source
        self.invoke = invoke
        self.spec = spec
        self.on_failure = on_failure
        self.function_arn = function_arn
        self.retry_delay = retry_delay
        self.log = log or (lambda _msg: None)
        self._shards: dict[str, _ShardState] = {}
        self.chaos = chaos
        self._rng = chaos.rng("poller") if chaos else None

    # --- shards ---------------------------------------------------------------------------------------------------

    def _refresh_shards(self) -> None:
        for shard in self.source.shards():
            if shard.shard_id not in self._shards:
                self._shards[shard.shard_id] = _ShardState(shard)

    def _ready(self, state: _ShardState) -> bool:
        parent = state.shard.parent_shard_id
        if parent is None or parent not in self._shards:
            return True
        parent_state = self._shards[parent]
        return parent_state.ended and not parent_state.buffer

    def poll_once(self) -> int:
        """One round over every shard; returns the number of records delivered (or given up on)."""
        self._refresh_shards()
        delivered = 0
        for state in list(self._shards.values()):
            if state.ended and not state.buffer:
                continue
            if not self._ready(state):
                continue
            for _ in range(10):  # bounded work per shard and round
                self._fill(state)
                if not state.buffer:
                    break
                batch = state.buffer[: self.spec.batch_size]
                del state.buffer[: self.spec.batch_size]
                deliver = functools.partial(self._deliver, shard_id=state.shard.shard_id)
                if self.chaos and self._rng:
                    deliver_with_chaos(self.chaos, self._rng, batch, deliver)
                else:
                    deliver(batch)
                state.last_sequence = _seq(batch[-1])
                delivered += len(batch)
        return delivered

    def _fill(self, state: _ShardState) -> None:
        if state.ended:
            return
        if not state.started:
            state.iterator = self.source.iterator(state.shard.shard_id, None)
            state.started = True
        while state.iterator is not None and len(state.buffer) < self.spec.batch_size:
            try:
                records, next_iterator = self.source.records(state.iterator, self.spec.batch_size)
            except ExpiredIterator:
                after = _seq(state.buffer[-1]) if state.buffer else state.last_sequence
                state.iterator = self.source.iterator(state.shard.shard_id, after)
                continue
            state.buffer.extend(records)
            state.iterator = next_iterator
            if not records:
                break
        if state.iterator is None:
            state.ended = True

    # --- delivery -------------------------------------------------------------------------------------------------

    def _event(self, records: list[dict[str, Any]]) -> dict[str, Any]:
        return {"Records": [{**r, "eventSourceARN": self.source.stream_arn} for r in records]}

    def _deliver(self, records: list[dict[str, Any]], shard_id: str, attempts: int = 0) -> None:
        """Deliver until success; retry, bisect or give up as Lambda does. attempts: retries already spent."""
        max_retries = self.spec.maximum_retry_attempts
        while records:
            result = self.invoke(self._event(records))
            invocations = attempts + 1
            if not result.is_error:
                failed_from = self._first_failure(records, result.payload)
                if failed_from is None:
                    return
                records = records[failed_from:]
            elif self.spec.bisect_on_error and len(records) > 1:
                mid = len(records) // 2
                self.log(f"function error: bisecting a batch of {len(records)}")
                self._deliver(records[:mid], shard_id, attempts + 1)
                self._deliver(records[mid:], shard_id, attempts + 1)
                return
            attempts += 1
            if 0 <= max_retries < attempts:
                self._give_up(records, shard_id, invocations)
                return
            if self.retry_delay:
                time.sleep(self.retry_delay)

    def _first_failure(self, records: list[dict[str, Any]], payload: Any) -> int | None:
        """Index of the first record to retry from, or None when the batch succeeded."""
        if not self.spec.report_batch_item_failures or not isinstance(payload, dict):
            return None
        failures = payload.get("batchItemFailures")
        if not failures:
            return None
        positions = {_seq(r): i for i, r in enumerate(records)}
        indexes: list[int] = []
        for failure in failures:
            ident = failure.get("itemIdentifier") if isinstance(failure, dict) else None
            if not ident or str(ident) not in positions:
                return 0  # an invalid identifier fails the whole batch
            indexes.append(positions[str(ident)])
        return min(indexes)

    def _give_up(self, records: list[dict[str, Any]], shard_id: str, invocations: int) -> None:
        self.log(
            f"retries exhausted: {len(records)} records from {_seq(records[0])} sent to the on-failure destination"
        )
        self.on_failure(
            {
                "requestContext": {
                    "requestId": str(uuid.uuid4()),
                    "functionArn": self.function_arn,
                    "condition": "RetryAttemptsExhausted",
                    "approximateInvokeCount": invocations,
                },
                "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
                "version": "1.0",
                "timestamp": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                "DDBStreamBatchInfo": {
                    "shardId": shard_id,
                    "startSequenceNumber": _seq(records[0]),
                    "endSequenceNumber": _seq(records[-1]),
                    "approximateArrivalOfFirstRecord": _arrival(records[0]),
                    "approximateArrivalOfLastRecord": _arrival(records[-1]),
                    "batchSize": len(records),
                    "streamArn": self.source.stream_arn,
                },
            }
        )


# --- boto3 source --------------------------------------------------------------------------------------------------


def _epoch(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.timestamp()
    return value


class DynamoDBStreamSource:
    """A table's latest stream in DynamoDB Local, read with the low-level streams client."""

    def __init__(self, streams_client: Any, stream_arn: str) -> None:
        self.client = streams_client
        self.stream_arn = stream_arn

    def shards(self) -> list[Shard]:
        out: list[Shard] = []
        kwargs: dict[str, Any] = {"StreamArn": self.stream_arn}
        while True:
            desc = self.client.describe_stream(**kwargs)["StreamDescription"]
            for s in desc.get("Shards", []):
                out.append(Shard(s["ShardId"], s.get("ParentShardId")))
            last = desc.get("LastEvaluatedShardId")
            if not last:
                return out
            kwargs["ExclusiveStartShardId"] = last

    def iterator(self, shard_id: str, after_sequence_number: str | None) -> str:
        if after_sequence_number:
            resp = self.client.get_shard_iterator(
                StreamArn=self.stream_arn,
                ShardId=shard_id,
                ShardIteratorType="AFTER_SEQUENCE_NUMBER",
                SequenceNumber=after_sequence_number,
            )
        else:
            resp = self.client.get_shard_iterator(
                StreamArn=self.stream_arn, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON"
            )
        return str(resp["ShardIterator"])

    def records(self, iterator: str, limit: int) -> tuple[list[dict[str, Any]], str | None]:
        try:
            resp = self.client.get_records(ShardIterator=iterator, Limit=min(max(limit, 1), 1000))
        except (
            self.client.exceptions.ExpiredIteratorException,
            # DynamoDB Local answers this for an iterator taken at TRIM_HORIZON while its shard was still
            # empty; a fresh iterator reads on.
            self.client.exceptions.TrimmedDataAccessException,
        ) as exc:
            raise ExpiredIterator() from exc
        out = []
        for r in resp.get("Records", []):
            ddb = dict(r.get("dynamodb", {}))
            if "ApproximateCreationDateTime" in ddb:
                ddb["ApproximateCreationDateTime"] = _epoch(ddb["ApproximateCreationDateTime"])
            out.append(
                {
                    "eventID": r.get("eventID"),
                    "eventName": r.get("eventName"),
                    "eventVersion": "1.1",
                    "eventSource": "aws:dynamodb",
                    "awsRegion": r.get("awsRegion") or REGION,
                    "dynamodb": ddb,
                }
            )
        return out, resp.get("NextShardIterator")


class PollerThread(threading.Thread):
    """Runs StreamPollers every interval until stopped; errors are logged and polling goes on."""

    def __init__(self, pollers: list[StreamPoller], interval: float = 0.2, log: Callable[[str], None] | None = None):
        super().__init__(name="stream-poller", daemon=True)
        self.pollers = pollers
        self.interval = interval
        self.log = log or (lambda _msg: None)
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            for poller in self.pollers:
                try:
                    poller.poll_once()
                except Exception as exc:
                    self.log(f"stream poller error: {exc!r}")
            self._stop_event.wait(self.interval)

    def stop(self, wait: float = 5.0) -> None:
        """Stops after the batch in flight, waiting for it at most `wait` seconds."""
        self._stop_event.set()
        if self.is_alive() and threading.current_thread() is not self:
            self.join(wait)
