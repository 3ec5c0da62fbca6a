"""`--chaos SEED`: what AWS has and local engines hide, injected reproducibly from a seed.

- In each function's worker (installed on boto3's default session before the handler is imported):
  `TransactionConflict` cancellations on a fraction of TransactWriteItems, and index reads that lag the table
  (a Query on a GSI leaves out items written in the last few hundred milliseconds, as if not yet propagated).
- In the stream poller: each batch split into parallel "shards" by item (order kept per item only, as
  DynamoDB Streams promise, lost across items), delivered concurrently in random order, and batches
  delivered twice.
- At the gateway (`local_runtime.gateway`): the authorizer's answer cached per token for ReauthorizeEvery.
Off by default. DynamoDB Local has one shard and synchronous indexes: without this, races that need them pass
every local test.
"""

from __future__ import annotations

import os
import random
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

SEED_VARIABLE = "LOCAL_CHAOS_SEED"


@dataclass(frozen=True)
class Chaos:
    seed: int
    conflict_rate: float = 0.1
    gsi_lag_seconds: float = 0.3
    duplicate_rate: float = 0.2
    stream_shards: int = 3

    def rng(self, salt: str) -> random.Random:
        return random.Random(f"{self.seed}:{salt}")  # noqa: S311 - reproducible chaos, not security


# --- in the function workers -----------------------------------------------------------------------------------


def install_in_worker() -> None:
    """Install the DynamoDB chaos on boto3's default session when the runtime asked for it."""
    seed = os.environ.get(SEED_VARIABLE)
    if not seed:
        return
    import boto3

    chaos = Chaos(int(seed))
    rng = chaos.rng(f"worker:{os.getpid()}")
    lock = threading.Lock()
    events = boto3._get_default_session().events  # noqa: SLF001 - the clients inherit the default session's hooks

    def conflict(**_: Any) -> Any:
        with lock:
            hit = rng.random() < chaos.conflict_rate
        return transaction_conflict() if hit else None

    def note_index(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["chaos_index"] = params.get("IndexName")

    def lag(parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        if not context.get("chaos_index") or "Items" not in parsed:
            return
        cutoff = datetime.now(UTC).timestamp() - chaos.gsi_lag_seconds
        parsed["Items"] = [item for item in parsed["Items"] if _written_at(item) < cutoff]
        parsed["Count"] = len(parsed["Items"])

    events.register("before-call.dynamodb.TransactWriteItems", conflict)
    events.register("before-parameter-build.dynamodb.Query", note_index)  # the API's parameters, not the request
    events.register("after-call.dynamodb.Query", lag)


def transaction_conflict() -> tuple[Any, dict[str, Any]]:
    """What DynamoDB answers a transaction that met a conflicting one, as a botocore `before-call` hook returns
    it (the call then raises it as a ClientError, and nothing is sent)."""
    return SimpleNamespace(status_code=400, headers={}, text=""), {
        "Error": {
            "Code": "TransactionCanceledException",
            "Message": "Transaction cancelled, please refer cancellation reasons for specific reasons "
            "[TransactionConflict]",
        },
        "CancellationReasons": [{"Code": "TransactionConflict"}],
        "ResponseMetadata": {"HTTPStatusCode": 400},
    }


def _written_at(item: dict[str, Any]) -> float:
    """When an item (low-level attribute values) was last written, as far as its timestamps say."""
    stamps = [item[name]["S"] for name in ("updated_at", "created_at") if "S" in item.get(name, {})]
    try:
        return max(datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp() for s in stamps)
    except ValueError:
        return 0.0


# --- in the stream poller --------------------------------------------------------------------------------------

Deliver = Callable[[list[dict[str, Any]]], None]


def deliver_with_chaos(chaos: Chaos, rng: random.Random, records: list[dict[str, Any]], deliver: Deliver) -> None:
    """Deliver a batch as parallel shards would: split by item, concurrently, in random order; maybe twice."""
    shards: dict[int, list[dict[str, Any]]] = {}
    for record in records:
        keys = str(sorted(record["dynamodb"].get("Keys", {}).items()))
        shards.setdefault(zlib.crc32(keys.encode()) % chaos.stream_shards, []).append(record)
    parts = list(shards.values())
    rng.shuffle(parts)
    threads = [threading.Thread(target=deliver, args=(part,)) for part in parts]
    for thread in threads:
        thread.start()
        time.sleep(rng.random() * 0.01)
    for thread in threads:
        thread.join()
    if rng.random() < chaos.duplicate_rate:
        deliver(records)  # at least once: the whole batch again
