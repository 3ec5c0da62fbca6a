"""A state folder holds one local runtime: the lock it holds while it runs, and `runtime.json`, where it says
where it serves (read by `make token`, `make operator`, `make demo` and `invoke`).

The lock is an `flock` on `runtime.lock`, held for the runtime's whole life: the kernel releases it however the
process ends (Ctrl+C, `kill -9`, a crash), so a reader tells a running runtime's `runtime.json` from one a
killed runtime left behind, and a second runtime on the same folder is refused while the first runs.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from pathlib import Path
from typing import IO, Any

LOCK_FILE = "runtime.lock"
RUNTIME_FILE = "runtime.json"
# For a reader pointed at another folder than the `make run` it means.
OTHER_FOLDER = " (another instance: pass its state folder, STATE_DIR=... or --state-dir ...)"


class NotRunning(Exception):
    """No local runtime runs on this state folder (a one-line message saying what to do)."""


class StateFolderBusy(Exception):
    """Another local runtime holds this state folder (the message names it)."""


def runtime_file(state_dir: Path) -> Path:
    return Path(state_dir) / RUNTIME_FILE


def _describe(info: dict[str, Any]) -> str:
    where = ", ".join(
        f"{what} {info[key]}"
        for what, key in (("API", "api"), ("Lambda endpoint", "lambda_endpoint"), ("DynamoDB", "dynamodb_endpoint"))
        if info.get(key)
    )
    return f"pid {info.get('pid', '?')}" + (f": {where}" if where else "")


def _read(state_dir: Path) -> dict[str, Any] | None:
    try:
        info = json.loads(runtime_file(state_dir).read_text())
    except (OSError, ValueError):
        return None
    return info if isinstance(info, dict) else None


class StateLock:
    """This runtime's hold on its state folder, and the `runtime.json` it writes there (removed on release:
    only the holder ever writes or removes it)."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = Path(state_dir)
        self._handle: IO[str] | None = None
        self._wrote = False

    def acquire(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        handle = open(self.state_dir / LOCK_FILE, "a+")  # noqa: SIM115 - held open for the runtime's life
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            info = _read(self.state_dir)
            running = _describe(info) if info else "starting up"
            raise StateFolderBusy(f"another local runtime runs on {self.state_dir} ({running})") from None
        os.set_inheritable(handle.fileno(), False)  # children must not keep the lock after this process ends
        self._handle = handle

    def write(self, info: dict[str, Any]) -> None:
        assert self._handle is not None, "write runtime.json only while holding the lock"
        path = runtime_file(self.state_dir)
        scratch = path.with_suffix(".json.tmp")
        scratch.write_text(json.dumps({"pid": os.getpid(), **info}, indent=2) + "\n")
        os.replace(scratch, path)
        self._wrote = True

    def release(self) -> None:
        if self._handle is None:
            return
        if self._wrote:
            runtime_file(self.state_dir).unlink(missing_ok=True)
            self._wrote = False
        with contextlib.suppress(OSError):
            fcntl.flock(self._handle, fcntl.LOCK_UN)
        self._handle.close()
        self._handle = None


def is_held(state_dir: Path) -> bool:
    """Whether a local runtime holds the folder's lock now (never waits)."""
    try:
        handle = open(Path(state_dir) / LOCK_FILE)  # noqa: SIM115 - closed below
    except FileNotFoundError:
        return False
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False


def running_runtime(state_dir: Path) -> dict[str, Any]:
    """What the local runtime running on `state_dir` wrote in its `runtime.json` (api, lambda_endpoint,
    dynamodb_endpoint, table, requests_table, pid); NotRunning, with what to do, when none runs there."""
    state_dir = Path(state_dir)
    info = _read(state_dir)
    if info is None:
        raise NotRunning(f"no local runtime is running on {state_dir}: start `make run` first{OTHER_FOLDER}")
    if not is_held(state_dir):
        raise NotRunning(
            f"{runtime_file(state_dir)} was left by a local runtime that is no longer running ({_describe(info)}): "
            f"start `make run` again{OTHER_FOLDER}"
        )
    return info
