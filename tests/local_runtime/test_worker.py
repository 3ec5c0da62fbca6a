"""Warm workers with a tiny fake function in a temp dir (not the project's functions)."""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

import pytest

from local_runtime.pool import FunctionPool, LocalRunner, worker_environment
from local_runtime.template import FunctionSpec

HANDLER = """
import os, sys
import helper

print("noise on stdout at import")

def handler(event, context):
    print("noise on stdout", event)
    if event.get("fail"):
        raise ValueError("bad input: " + event["fail"])
    if event.get("sleep"):
        import time
        time.sleep(event["sleep"])
    return {
        "env": {k: os.environ.get(k) for k in event.get("env", [])},
        "version": helper.VERSION,
        "function_name": context.function_name,
        "memory": context.memory_limit_in_mb,
        "remaining": context.get_remaining_time_in_millis(),
        "request_id": context.aws_request_id,
        "arn": context.invoked_function_arn,
        "path0": sys.path[0],
        "pid": os.getpid(),
    }
"""


@pytest.fixture()
def fn(tmp_path: Path) -> FunctionSpec:
    code = tmp_path / "fn"
    layer = tmp_path / "layer"
    code.mkdir()
    layer.mkdir()
    (code / "app.py").write_text(HANDLER)
    (layer / "helper.py").write_text("VERSION = 1\n")
    return FunctionSpec(
        logical_id="FakeFunction",
        name="FakeFunction",
        code_dir=code,
        handler="app.handler",
        timeout=3,
        memory=256,
        layer_dirs=[layer],
        environment={"TABLE_NAME": "things-local"},
    )


@pytest.fixture()
def pool(fn: FunctionSpec, monkeypatch: pytest.MonkeyPatch) -> FunctionPool:
    monkeypatch.setenv("PARENT_SECRET", "leak")
    p = FunctionPool(fn, worker_environment(fn, {"AWS_REGION": "us-east-1"}), sys.stderr)
    yield p
    p.close()


def test_environment_is_isolated_and_context_is_lambda_like(pool: FunctionPool, fn: FunctionSpec) -> None:
    result = pool.invoke({"env": ["PARENT_SECRET", "TABLE_NAME", "AWS_REGION", "AWS_LAMBDA_FUNCTION_NAME"]})
    assert not result.is_error, result.payload
    out = result.payload
    assert out["env"] == {
        "PARENT_SECRET": None,
        "TABLE_NAME": "things-local",
        "AWS_REGION": "us-east-1",
        "AWS_LAMBDA_FUNCTION_NAME": "FakeFunction",
    }
    assert out["function_name"] == "FakeFunction" and out["memory"] == 256
    assert 0 < out["remaining"] <= 3000
    assert out["arn"].endswith(":function:FakeFunction")
    assert out["path0"] == str(fn.code_dir)
    assert out["version"] == 1


def test_handler_exception_returns_lambda_error_and_worker_stays_warm(pool: FunctionPool) -> None:
    first = pool.invoke({})
    err = pool.invoke({"fail": "nope"})
    assert err.is_error
    assert err.payload["errorType"] == "ValueError"
    assert err.payload["errorMessage"] == "bad input: nope"
    assert isinstance(err.payload["stackTrace"], list) and err.payload["stackTrace"]
    again = pool.invoke({})
    assert not again.is_error
    assert again.payload["pid"] == first.payload["pid"]  # same warm worker
    assert again.payload["request_id"] != first.payload["request_id"]


def test_stdout_prints_do_not_corrupt_the_protocol(pool: FunctionPool) -> None:
    for i in range(3):
        result = pool.invoke({"n": i})
        assert not result.is_error
        assert result.payload["function_name"] == "FakeFunction"


def test_code_change_reloads_workers(pool: FunctionPool, fn: FunctionSpec) -> None:
    before = pool.invoke({})
    assert before.payload["version"] == 1
    helper = fn.layer_dirs[0] / "helper.py"
    helper.write_text("VERSION = 2\n")
    os.utime(helper, ns=(time.time_ns() + 10**9, time.time_ns() + 10**9))
    after = pool.invoke({})
    assert after.payload["version"] == 2
    assert after.payload["pid"] != before.payload["pid"]


def test_timeout_kills_the_worker(fn: FunctionSpec) -> None:
    p = FunctionPool(fn, worker_environment(fn, {}), sys.stderr, timeout=1.5)
    try:
        warm = p.invoke({})
        result = p.invoke({"sleep": 10})
        assert result.is_error
        assert "timed out" in result.payload["errorMessage"]
        fresh = p.invoke({})
        assert not fresh.is_error and fresh.payload["pid"] != warm.payload["pid"]
    finally:
        p.close()


def test_concurrent_invocations_scale_out_to_several_workers(fn: FunctionSpec) -> None:
    runner = LocalRunner({fn.logical_id: fn}, {})
    pids: list[int] = []

    def call() -> None:
        result = runner.invoke_event("arn:aws:lambda:us-east-1:1:function:FakeFunction", {"sleep": 0.8})
        pids.append(result.payload["pid"])

    try:
        threads = [threading.Thread(target=call) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(set(pids)) == 3
        assert len(runner.pool("FakeFunction").worker_pids()) == 3
    finally:
        runner.close()


SNAPSTART_HANDLER = """
import os
from snapshot_restore_py import register_after_restore, register_before_snapshot

RAN = []
register_before_snapshot(RAN.append, "before: registered first")
register_before_snapshot(RAN.append, "before: registered last")
register_after_restore(RAN.append, "after: registered first")
register_after_restore(RAN.append, "after: registered last")
if os.environ.get("FAIL_AFTER_RESTORE"):
    register_after_restore(lambda: 1 / 0)

def handler(event, context):
    return {"ran": RAN, "initialization_type": os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE")}
"""


def snapstart_fn(tmp_path: Path, *, snap_start: bool, environment: dict[str, str] | None = None) -> FunctionSpec:
    code = tmp_path / "snap"
    code.mkdir(exist_ok=True)
    (code / "snap.py").write_text(SNAPSTART_HANDLER)
    return FunctionSpec(
        logical_id="SnapFunction",
        name="SnapFunction",
        code_dir=code,
        handler="snap.handler",
        timeout=3,
        memory=256,
        layer_dirs=[],
        environment=environment or {},
        snap_start=snap_start,
    )


@pytest.mark.parametrize("snap_start", [True, False])
def test_a_snapstart_worker_runs_the_hooks_as_lambda_does_before_the_first_invocation(
    tmp_path: Path, snap_start: bool
) -> None:
    fn = snapstart_fn(tmp_path, snap_start=snap_start)
    p = FunctionPool(fn, worker_environment(fn, {}), sys.stderr)
    try:
        first = p.invoke({})
        second = p.invoke({})
    finally:
        p.close()
    assert not first.is_error, first.payload
    if snap_start:  # before the snapshot last registered first, after the restore in registration order
        assert first.payload == {
            "ran": [
                "before: registered last",
                "before: registered first",
                "after: registered first",
                "after: registered last",
            ],
            "initialization_type": "snap-start",
        }
    else:  # Lambda runs no hook in a function without SnapStart
        assert first.payload == {"ran": [], "initialization_type": "on-demand"}
    assert second.payload == first.payload  # once per worker, never per invocation


def test_a_failing_after_restore_hook_fails_every_invocation_as_lambda_reports_it(tmp_path: Path) -> None:
    fn = snapstart_fn(tmp_path, snap_start=True, environment={"FAIL_AFTER_RESTORE": "1"})
    p = FunctionPool(fn, worker_environment(fn, {}), sys.stderr)
    try:
        result = p.invoke({})
    finally:
        p.close()
    assert result.is_error
    assert result.payload["errorType"] == "Runtime.AfterRestoreError: ZeroDivisionError"
