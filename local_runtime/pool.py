"""Warm worker processes per function, and the runner SAM CLI's local API Gateway invokes functions through."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from local_runtime.template import FunctionSpec

PACKAGE_PARENT = str(Path(__file__).resolve().parent.parent)
MAX_WORKERS_PER_FUNCTION = 4
_PASS_THROUGH = ("PATH", "HOME", "LANG")
DEBUG_TIMEOUT = 3600.0
_SKIP_DIRS = {"__pycache__", ".venv", "node_modules", ".git", ".pytest_cache", ".mypy_cache"}


@dataclass
class InvokeResult:
    payload: Any
    is_error: bool


def fingerprint(dirs: Iterable[Path]) -> tuple[tuple[str, int, int], ...]:
    """The (path, mtime, size) of every .py file under dirs: changes when code is edited, added or removed."""
    entries: list[tuple[str, int, int]] = []
    for base in dirs:
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames[:] = [d for d in dirnames if d not in _SKIP_DIRS]
            for name in filenames:
                if name.endswith(".py"):
                    full = os.path.join(dirpath, name)
                    try:
                        st = os.stat(full)
                    except OSError:
                        continue
                    entries.append((full, st.st_mtime_ns, st.st_size))
    entries.sort()
    return tuple(entries)


def worker_environment(fn: FunctionSpec, extra: dict[str, str]) -> dict[str, str]:
    """The isolated environment of a function's worker: the template's variables plus Lambda's own."""
    env = {k: os.environ[k] for k in _PASS_THROUGH if k in os.environ}
    env.update(fn.environment)
    env.update(extra)
    env.update(
        {
            "AWS_LAMBDA_FUNCTION_NAME": fn.name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(fn.memory),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{fn.name}",
            # Lambda's own: how this environment was initialised; "snap-start" makes the worker run the hooks
            "AWS_LAMBDA_INITIALIZATION_TYPE": "snap-start" if fn.snap_start else "on-demand",
            "PYTHONUNBUFFERED": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    return env


class Worker:
    """One warm worker subprocess (its own process group)."""

    def __init__(
        self, fn: FunctionSpec, env: dict[str, str], generation: int, log: TextIO, *, debug_port: int | None = None
    ) -> None:
        self.fn = fn
        self.generation = generation
        # Under debugpy, the worker waits for an IDE to attach before it imports the handler.
        debugger = ["--debug-port", str(debug_port)] if debug_port else []
        cmd = [
            sys.executable,
            "-m",
            "local_runtime.worker",
            "--handler",
            fn.handler,
            "--code-dir",
            str(fn.code_dir),
            "--function-name",
            fn.name,
            "--memory",
            str(fn.memory),
            "--timeout",
            str(fn.timeout),
            *debugger,
        ]
        for layer in fn.layer_dirs:
            cmd += ["--layer-dir", str(layer)]
        self.proc = subprocess.Popen(  # noqa: S603 - our own worker module
            cmd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=PACKAGE_PARENT,
            text=True,
            encoding="utf-8",
            bufsize=1,
            start_new_session=True,
        )
        self._responses: queue.Queue[str | None] = queue.Queue()
        self._log = log
        threading.Thread(target=self._read_stdout, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()
        self._ready = False

    def _read_stdout(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._responses.put(line)
        self._responses.put(None)

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            try:
                self._log.write(f"[{self.fn.logical_id}] {line if line.endswith(chr(10)) else line + chr(10)}")
                self._log.flush()
            except (ValueError, OSError):
                pass

    def alive(self) -> bool:
        return self.proc.poll() is None

    def _next(self, timeout: float) -> dict[str, Any] | None:
        try:
            line = self._responses.get(timeout=max(timeout, 0.001))
        except queue.Empty:
            raise TimeoutError from None
        if line is None:
            return None
        return json.loads(line)  # type: ignore[no-any-return,unused-ignore]

    def invoke(self, event: Any, timeout: float) -> InvokeResult:
        request_id = str(uuid.uuid4())
        start = time.monotonic()
        deadline_ms = int(time.time() * 1000 + timeout * 1000)
        try:
            if not self._ready:
                # init counts towards the first invocation's timeout, as a cold start does
                ready = self._next(timeout)
                if ready is None:
                    return self._crashed(request_id)
                self._ready = True
            assert self.proc.stdin is not None
            self.proc.stdin.write(json.dumps({"request_id": request_id, "event": event, "deadline_ms": deadline_ms}))
            self.proc.stdin.write("\n")
            self.proc.stdin.flush()
            response = self._next(timeout - (time.monotonic() - start))
        except TimeoutError:
            self.kill()
            return InvokeResult(
                {
                    "errorMessage": f"{request_id} Task timed out after {timeout:.2f} seconds",
                    "errorType": "Sandbox.Timedout",
                    "stackTrace": [],
                },
                True,
            )
        except (BrokenPipeError, OSError):
            return self._crashed(request_id)
        if response is None:
            return self._crashed(request_id)
        if response.get("ok"):
            return InvokeResult(response.get("result"), False)
        return InvokeResult(response.get("error"), True)

    def _crashed(self, request_id: str) -> InvokeResult:
        self.kill()
        return InvokeResult(
            {
                "errorMessage": f"RequestId: {request_id} Error: Runtime exited with error: exit status "
                f"{self.proc.returncode}",
                "errorType": "Runtime.ExitError",
                "stackTrace": [],
            },
            True,
        )

    def kill(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=5)
        for stream in (self.proc.stdin,):
            try:
                if stream:
                    stream.close()
            except OSError:
                pass


class FunctionPool:
    """Up to MAX_WORKERS_PER_FUNCTION warm workers for one function, replaced when its code changes."""

    def __init__(
        self,
        fn: FunctionSpec,
        env: dict[str, str],
        log: TextIO,
        max_workers: int = MAX_WORKERS_PER_FUNCTION,
        timeout: float | None = None,
        *,
        debug_port: int | None = None,
    ) -> None:
        self.fn = fn
        self.env = env
        self.log = log
        self.debug_port = debug_port
        # One debuggee, and no timeout while a breakpoint holds it.
        self.max_workers = 1 if debug_port else max_workers
        self.timeout = DEBUG_TIMEOUT if debug_port else float(timeout if timeout is not None else fn.timeout)
        self._cond = threading.Condition()
        self._idle: list[Worker] = []
        self._busy: set[Worker] = set()
        self._generation = 0
        self._fingerprint = fingerprint(self._dirs())
        self._closed = False

    def _dirs(self) -> list[Path]:
        return [self.fn.code_dir, *self.fn.layer_dirs]

    def _check_reload(self) -> None:
        current = fingerprint(self._dirs())
        with self._cond:
            if current == self._fingerprint:
                return
            self._fingerprint = current
            self._generation += 1
            stale, self._idle = self._idle, []
        if stale:
            self.log.write(f"[{self.fn.logical_id}] code changed: reloading workers\n")
        for worker in stale:
            worker.kill()

    def _acquire(self) -> Worker:
        with self._cond:
            while True:
                if self._closed:
                    raise RuntimeError("runtime is shutting down")
                while self._idle:
                    worker = self._idle.pop()
                    if worker.alive() and worker.generation == self._generation:
                        self._busy.add(worker)
                        return worker
                    worker.kill()
                if len(self._busy) < self.max_workers:
                    worker = Worker(self.fn, self.env, self._generation, self.log, debug_port=self.debug_port)
                    self._busy.add(worker)
                    return worker
                self._cond.wait()

    def _release(self, worker: Worker) -> None:
        with self._cond:
            self._busy.discard(worker)
            if worker.alive() and worker.generation == self._generation and not self._closed:
                self._idle.append(worker)
            else:
                worker.kill()
            self._cond.notify()

    def invoke(self, event: Any) -> InvokeResult:
        self._check_reload()
        worker = self._acquire()
        try:
            return worker.invoke(event, self.timeout)
        finally:
            self._release(worker)

    def worker_pids(self) -> list[int]:
        with self._cond:
            return [w.proc.pid for w in [*self._idle, *self._busy] if w.alive()]

    def close(self) -> None:
        with self._cond:
            self._closed = True
            workers = [*self._idle, *self._busy]
            self._idle = []
            self._cond.notify_all()
        for worker in workers:
            worker.kill()


class LocalRunner:
    """What SAM CLI's LocalApigwService expects of a LocalLambdaRunner, backed by warm worker pools."""

    def __init__(self, functions: dict[str, FunctionSpec], extra_env: dict[str, str], log: TextIO | None = None):
        self.functions = functions
        self.log = log or sys.stderr
        self.pools: dict[str, FunctionPool] = {}
        self._extra_env = extra_env
        self._lock = threading.Lock()
        self.debug: tuple[str, int] | None = None  # (logical id, port): that function's worker runs under debugpy

    def find(self, identifier: str) -> FunctionSpec:
        if identifier in self.functions:
            return self.functions[identifier]
        name = identifier.rsplit(":function:", 1)[-1].split(":", maxsplit=1)[0]
        for fn in self.functions.values():
            if name in (fn.name, fn.logical_id):
                return fn
        raise KeyError(f"no function {identifier!r} in the template")

    def pool(self, identifier: str) -> FunctionPool:
        fn = self.find(identifier)
        with self._lock:
            if fn.logical_id not in self.pools:
                debug_port = self.debug[1] if self.debug and self.debug[0] == fn.logical_id else None
                self.pools[fn.logical_id] = FunctionPool(
                    fn, worker_environment(fn, self._extra_env), self.log, debug_port=debug_port
                )
            return self.pools[fn.logical_id]

    def invoke_event(self, identifier: str, event: Any) -> InvokeResult:
        return self.pool(identifier).invoke(event)

    def invoke(
        self,
        function_identifier: str,
        event: str,
        tenant_id: str | None = None,
        stdout: Any = None,
        stderr: Any = None,
        **kwargs: Any,
    ) -> None:
        """Invoke like LocalLambdaRunner.invoke: the function's JSON output is written to stdout."""
        payload = json.loads(event) if isinstance(event, (str, bytes)) and event else event
        result = self.invoke_event(function_identifier, payload)
        if stdout is not None:
            stdout.write_str(json.dumps(result.payload))
            stdout.flush()

    def is_debugging(self) -> bool:
        return False

    def close(self) -> None:
        with self._lock:
            pools = list(self.pools.values())
        for pool in pools:
            pool.close()
