"""`make run`'s life: it refuses ports something else holds (never "ready" on another's server), everything it
started ends with it however it ends, and --persist keeps the data across restarts."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from local_runtime.dynamodb import client
from tests.local_runtime.test_end_to_end import ROOT, alive, descendants, free_port

pytestmark = pytest.mark.integration


def start(state_dir: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "local_runtime", "--state-dir", str(state_dir), *extra],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "SAM_CLI_TELEMETRY": "0"},
        start_new_session=True,
    )


def ready(process: subprocess.Popen[str], timeout: float = 60) -> list[str]:
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip("\n"))
        if line.startswith("local runtime ready on "):
            return lines
    raise AssertionError(f"not ready: {lines}")


def ports(api: int) -> list[str]:
    return ["--port", str(api), "--dynamodb-port", "0", "--lambda-port", "0"]


@pytest.mark.parametrize("flag", ["--port", "--dynamodb-port", "--lambda-port"])
def test_a_port_in_use_is_refused_before_anything_says_ready(tmp_path, flag):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        arguments = {"--port": str(free_port()), "--dynamodb-port": "0", "--lambda-port": "0", flag: str(taken)}

        process = start(tmp_path, *(item for pair in arguments.items() for item in pair))
        out, err = process.communicate(timeout=60)

    assert process.returncode == 2
    assert "ready" not in out
    assert f"port {taken}" in err and "is in use" in err and flag in err
    assert not (tmp_path / "runtime.json").exists()


@pytest.mark.parametrize("how", [signal.SIGHUP, signal.SIGTERM, signal.SIGKILL], ids=lambda s: s.name)
def test_everything_it_started_ends_with_it(tmp_path, how):
    process = start(tmp_path, *ports(free_port()))
    try:
        lines = ready(process)
        assert "in memory" in lines[0]
        children = descendants(process.pid)
        assert any("java" in _command(pid) for pid in children), children

        process.send_signal(how)
        process.wait(timeout=30)

        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and any(alive(pid) for pid in children):
            time.sleep(0.2)
        assert not [pid for pid in children if alive(pid)], [_command(p) for p in children if alive(p)]
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)


def test_persist_keeps_the_data_across_restarts(tmp_path):
    for run in range(2):
        process = start(tmp_path, *ports(free_port()), "--persist")
        try:
            lines = ready(process)
            assert "kept in STATE_DIR/dynamodb" in lines[0]
            endpoint = re.search(r"DynamoDB at (http://[^ ,)]+)", lines[0])
            assert endpoint
            ddb = client(endpoint.group(1))
            key = {"pk": {"S": "PERSIST#probe"}, "sk": {"S": "X"}}
            if run == 0:
                ddb.put_item(TableName="customer-profiles-local", Item=key)
            else:
                assert ddb.get_item(TableName="customer-profiles-local", Key=key).get("Item") == key
        finally:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=30)


def _command(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""
