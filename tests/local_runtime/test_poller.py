"""StreamPoller logic against a fake stream and a fake function."""

from __future__ import annotations

from typing import Any

from local_runtime.poller import Shard, StreamPoller
from local_runtime.pool import InvokeResult
from local_runtime.template import StreamSourceSpec

ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/local"


def record(n: int) -> dict[str, Any]:
    return {
        "eventID": f"e{n}",
        "eventName": "INSERT",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": {
            "ApproximateCreationDateTime": 1700000000 + n,
            "Keys": {"pk": {"S": f"k{n}"}},
            "NewImage": {"pk": {"S": f"k{n}"}},
            "SequenceNumber": f"{n:021d}",
            "SizeBytes": 10,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        },
    }


class FakeSource:
    """One shard holding records; iterators are positions."""

    stream_arn = ARN

    def __init__(self, records: list[dict[str, Any]], closed: bool = False) -> None:
        self.data = records
        self.closed = closed

    def shards(self) -> list[Shard]:
        return [Shard("shard-1")]

    def iterator(self, shard_id: str, after_sequence_number: str | None) -> str:
        return "0"

    def records(self, iterator: str, limit: int) -> tuple[list[dict[str, Any]], str | None]:
        pos = int(iterator)
        chunk = self.data[pos : pos + limit]
        nxt = pos + len(chunk)
        if self.closed and nxt >= len(self.data):
            return chunk, None
        return chunk, str(nxt)


class FakeFunction:
    def __init__(self, behaviour: Any) -> None:
        self.calls: list[list[str]] = []
        self.behaviour = behaviour

    def __call__(self, event: dict[str, Any]) -> InvokeResult:
        seqs = [r["dynamodb"]["SequenceNumber"] for r in event["Records"]]
        assert all(r["eventSourceARN"] == ARN for r in event["Records"])
        self.calls.append(seqs)
        return self.behaviour(seqs, len(self.calls))  # type: ignore[no-any-return]


def seq(n: int) -> str:
    return f"{n:021d}"


def make(records: int, behaviour: Any, **spec: Any) -> tuple[StreamPoller, FakeFunction, list[dict[str, Any]]]:
    fn = FakeFunction(behaviour)
    failures: list[dict[str, Any]] = []
    settings = {"event_name": "S", "table_logical_id": "T", **spec}
    source = FakeSource([record(i) for i in range(records)])
    poller = StreamPoller(source, fn, StreamSourceSpec(**settings), failures.append)
    return poller, fn, failures


def ok(_seqs: list[str], _n: int) -> InvokeResult:
    return InvokeResult({}, False)


def test_batch_size_is_honoured() -> None:
    poller, fn, failures = make(7, ok, batch_size=3)
    assert poller.poll_once() == 7
    assert [len(c) for c in fn.calls] == [3, 3, 1]
    assert poller.poll_once() == 0  # nothing new: no invocation
    assert len(fn.calls) == 3
    assert failures == []


def test_partial_failure_retries_from_the_failed_sequence_number() -> None:
    def behaviour(seqs: list[str], n: int) -> InvokeResult:
        if n == 1:
            return InvokeResult({"batchItemFailures": [{"itemIdentifier": seq(4)}, {"itemIdentifier": seq(2)}]}, False)
        return InvokeResult({"batchItemFailures": []}, False)

    poller, fn, failures = make(5, behaviour, batch_size=10, report_batch_item_failures=True, maximum_retry_attempts=3)
    poller.poll_once()
    assert fn.calls[0] == [seq(i) for i in range(5)]
    assert fn.calls[1] == [seq(2), seq(3), seq(4)]  # later records again, earlier ones not
    assert len(fn.calls) == 2
    assert failures == []


def test_retry_limit_writes_a_failure_record_and_progress_continues() -> None:
    def behaviour(seqs: list[str], n: int) -> InvokeResult:
        if seq(1) in seqs:
            return InvokeResult({"batchItemFailures": [{"itemIdentifier": seq(1)}]}, False)
        return InvokeResult({}, False)

    poller, fn, failures = make(4, behaviour, batch_size=2, report_batch_item_failures=True, maximum_retry_attempts=2)
    poller.poll_once()
    # first batch [0, 1]: then [1] twice (2 retries), given up; then the next batch is processed
    assert fn.calls == [[seq(0), seq(1)], [seq(1)], [seq(1)], [seq(2), seq(3)]]
    assert len(failures) == 1
    failure = failures[0]
    assert failure["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert failure["requestContext"]["approximateInvokeCount"] == 3
    info = failure["DDBStreamBatchInfo"]
    assert info["shardId"] == "shard-1"
    assert info["startSequenceNumber"] == seq(1) and info["endSequenceNumber"] == seq(1)
    assert info["batchSize"] == 1 and info["streamArn"] == ARN
    assert info["approximateArrivalOfFirstRecord"].endswith("Z")
    assert "timestamp" in failure


def test_bisect_on_function_error_isolates_the_poison_record() -> None:
    def behaviour(seqs: list[str], n: int) -> InvokeResult:
        if seq(2) in seqs:
            return InvokeResult({"errorMessage": "boom", "errorType": "ValueError", "stackTrace": []}, True)
        return InvokeResult({}, False)

    poller, fn, failures = make(4, behaviour, batch_size=4, bisect_on_error=True, maximum_retry_attempts=3)
    poller.poll_once()
    assert fn.calls[0] == [seq(0), seq(1), seq(2), seq(3)]
    assert [seq(0), seq(1)] in fn.calls  # the good half went through
    assert [seq(3)] in fn.calls  # so did the good quarter
    delivered_ok = {s for c in fn.calls if seq(2) not in c for s in c}
    assert delivered_ok == {seq(0), seq(1), seq(3)}
    assert len(failures) == 1
    assert failures[0]["DDBStreamBatchInfo"]["startSequenceNumber"] == seq(2)
    assert failures[0]["DDBStreamBatchInfo"]["batchSize"] == 1


def test_function_error_without_bisect_retries_the_whole_batch() -> None:
    def behaviour(seqs: list[str], n: int) -> InvokeResult:
        return InvokeResult({"errorMessage": "boom"}, True) if n <= 2 else InvokeResult({}, False)

    poller, fn, failures = make(3, behaviour, batch_size=3, maximum_retry_attempts=5)
    poller.poll_once()
    assert fn.calls == [[seq(0), seq(1), seq(2)]] * 3
    assert failures == []


def test_new_records_are_picked_up_on_later_polls() -> None:
    source = FakeSource([record(0)])
    fn = FakeFunction(ok)
    poller = StreamPoller(source, fn, StreamSourceSpec("S", "T", batch_size=10), lambda _r: None)
    poller.poll_once()
    source.data.append(record(1))
    poller.poll_once()
    assert fn.calls == [[seq(0)], [seq(1)]]
