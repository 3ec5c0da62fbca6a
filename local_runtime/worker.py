"""A warm Lambda-like worker: imports one handler once and serves invocations in a loop.

Run as ``python -m local_runtime.worker --handler module.func --code-dir DIR [--layer-dir DIR ...]
--function-name NAME --memory MB --timeout S``. The environment is the function's own (the parent builds it).

Protocol: one JSON object per line. Requests arrive on stdin ``{"request_id", "event", "deadline_ms"}``; responses
go to a duplicate of the original stdout ``{"ok": true, "result": ...}`` or ``{"ok": false, "error": {...}}``.
File descriptor 1 is pointed at stderr, so the handler's prints and logs never corrupt the protocol.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any


class LambdaContext:
    """The attributes and method of Lambda's Python context object."""

    def __init__(self, function_name: str, memory: int, request_id: str, deadline_ms: int) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{function_name}"
        self.memory_limit_in_mb = memory
        self.aws_request_id = request_id
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = time.strftime("%Y/%m/%d/[$LATEST]") + "local"
        self.identity = None
        self.client_context = None
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int(self._deadline_ms - time.time() * 1000))


def error_shape(exc: BaseException) -> dict[str, Any]:
    """Lambda's error payload for an exception raised by a handler."""
    return {
        "errorMessage": str(exc),
        "errorType": type(exc).__name__,
        "requestId": "",
        "stackTrace": [line.rstrip("\n") for line in traceback.format_tb(exc.__traceback__)],
    }


def _set_sys_path(code_dir: str, layer_dirs: list[str]) -> None:
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    cwd = os.getcwd()
    rest = [p for p in sys.path if p not in ("", ".", cwd, here)]
    sys.path[:] = [code_dir, *layer_dirs, *rest]


def _load_handler(spec: str) -> Callable[[Any, Any], Any]:
    module_name, _, func_name = spec.rpartition(".")
    module = importlib.import_module(module_name)
    return getattr(module, func_name)  # type: ignore[no-any-return,unused-ignore]


def run_snapstart_hooks() -> None:
    """What Lambda does for a SnapStart function after its init: the before-snapshot hooks (last registered
    first), then, as if restored from that snapshot, the after-restore hooks (in registration order), so a
    worker serves its first request as a restored environment would."""
    import snapshot_restore_py  # the Lambda runtime's registry (requirements-dev.txt pins it)

    phases = (
        ("Runtime.BeforeSnapshotError", reversed(snapshot_restore_py.get_before_snapshot())),
        ("Runtime.AfterRestoreError", snapshot_restore_py.get_after_restore()),
    )
    for error_type, hooks in phases:
        for func, args, kwargs in hooks:
            try:
                func(*args, **kwargs)
            except Exception as exc:
                raise SnapStartHookError(error_type, exc) from exc


class SnapStartHookError(Exception):
    """A runtime hook failed: Lambda would fail the version's publication (before the snapshot) or the
    invocation that restores it (after); the worker answers every invocation with it, as an init error."""

    def __init__(self, error_type: str, cause: Exception) -> None:
        super().__init__(str(cause))
        self.error_type = error_type


def _init(spec: str) -> tuple[Callable[[Any, Any], Any] | None, dict[str, Any] | None]:
    """The handler after the function's init (and, with SnapStart, its hooks), or the error every invocation
    answers."""
    try:
        handler = _load_handler(spec)
    except Exception as exc:
        traceback.print_exc()
        init_error = error_shape(exc)
        init_error["errorType"] = f"Runtime.ImportModuleError: {init_error['errorType']}"
        return None, init_error
    if os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE") == "snap-start":
        try:
            run_snapstart_hooks()
        except SnapStartHookError as exc:
            traceback.print_exc()
            init_error = error_shape(exc)
            init_error["errorType"] = f"{exc.error_type}: {type(exc.__cause__).__name__}"
            return None, init_error
    return handler, None


def _exit_when_orphaned(parent: int) -> None:
    """Ends this worker as soon as the runtime that started it is gone, however it ended (`kill -9` too): a
    worker busy in a handler (a DynamoDB call retrying against a DynamoDB Local that died with the runtime)
    would not see its closed stdin until the call gave up. A watch rather than PR_SET_PDEATHSIG, which fires
    when the *thread* that started the child ends: workers start from request threads."""
    while os.getppid() == parent:
        time.sleep(0.2)
    os._exit(0)


def _wait_for_debugger(port: int, function_name: str) -> None:
    """Listen for an IDE and wait for it before the handler is imported."""
    import debugpy

    debugpy.listen(("127.0.0.1", port))
    print(f"waiting for a debugger on 127.0.0.1:{port} ({function_name}): attach your IDE", file=sys.stderr)
    debugpy.wait_for_client()


def _refused_token(exc: BaseException) -> bool:
    """The authorizer's "Unauthorized": API Gateway's contract for a 401, not a failure worth a traceback."""
    return type(exc) is Exception and str(exc) == "Unauthorized"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--handler", required=True)
    parser.add_argument("--code-dir", required=True)
    parser.add_argument("--layer-dir", action="append", default=[])
    parser.add_argument("--function-name", required=True)
    parser.add_argument("--memory", type=int, default=128)
    parser.add_argument("--timeout", type=int, default=3)
    parser.add_argument("--debug-port", type=int, help="wait for an IDE (debugpy) on this port before importing")
    args = parser.parse_args(argv)
    threading.Thread(target=_exit_when_orphaned, args=(os.getppid(),), daemon=True).start()
    if args.debug_port:
        _wait_for_debugger(args.debug_port, args.function_name)

    # The protocol keeps the real stdout; everything written to fd 1 afterwards lands on stderr.
    sys.stdout.flush()
    proto = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)
    sys.stdout = os.fdopen(1, "w", encoding="utf-8", buffering=1, closefd=False)

    from local_runtime.chaos import install_in_worker

    install_in_worker()  # before the handler creates its clients; does nothing unless --chaos was given
    _set_sys_path(args.code_dir, args.layer_dir)
    os.chdir(args.code_dir)

    def reply(payload: dict[str, Any]) -> None:
        proto.write(json.dumps(payload, default=str) + "\n")
        proto.flush()

    handler, init_error = _init(args.handler)
    reply({"ready": True})

    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        if init_error is not None or handler is None:
            reply({"ok": False, "error": init_error})
            continue
        ctx = LambdaContext(args.function_name, args.memory, request["request_id"], request["deadline_ms"])
        try:
            result = handler(request["event"], ctx)
            reply({"ok": True, "result": result})
        except Exception as exc:
            if not _refused_token(exc):
                traceback.print_exc()
            err = error_shape(exc)
            err["requestId"] = request["request_id"]
            reply({"ok": False, "error": err})
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
