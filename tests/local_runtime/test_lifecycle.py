"""`make run`'s life: it refuses ports something else holds (never "ready" on another's server, every taken port
named at once) and a state folder another runtime holds, everything it started ends with it however it ends,
the commands that read its runtime.json see when it is gone, and --persist keeps the data across restarts."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from contextlib import ExitStack, suppress
from pathlib import Path

import pytest
import requests

from local_runtime.dynamodb import client
from local_runtime.idp import mint_token
from tests.integration.test_local_only import is_loopback, listening
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


def test_every_port_in_use_is_named_at_once(tmp_path):
    with ExitStack() as held:
        taken = []
        for _ in range(3):
            holder = held.enter_context(socket.socket())
            holder.bind(("127.0.0.1", 0))
            holder.listen()
            taken.append(holder.getsockname()[1])

        process = start(
            tmp_path, "--port", str(taken[0]), "--lambda-port", str(taken[1]), "--dynamodb-port", str(taken[2])
        )
        out, err = process.communicate(timeout=60)

    assert process.returncode == 2 and "ready" not in out
    for port, flag in zip(taken, ["--port", "--lambda-port", "--dynamodb-port"], strict=True):
        assert f"{port} (" in err and flag in err
    assert len(err.strip().splitlines()) == 1, err  # one message, not one attempt per port
    assert f'make run STATE_DIR={tmp_path}-2 ARGS="--port {taken[0] + 100} --lambda-port {taken[1] + 100}' in err


def test_a_state_folder_holds_one_runtime_a_second_is_told_which_and_persist_keeps_the_data(tmp_path):
    key = {"pk": {"S": "PERSIST#probe"}, "sk": {"S": "X"}}
    first = start(tmp_path, *ports(free_port()), "--persist")
    try:
        lines = ready(first)
        assert "kept in STATE_DIR/dynamodb" in lines[0]
        held = (tmp_path / "runtime.json").read_text()
        info = json.loads(held)
        client(info["dynamodb_endpoint"]).put_item(TableName="customer-profiles-local", Item=key)

        second = start(tmp_path, *ports(free_port()), "--persist")
        out, err = second.communicate(timeout=60)

        assert second.returncode == 2 and "ready" not in out
        assert f"another local runtime runs on {tmp_path} (pid {first.pid}: API {info['api']}" in err
        assert f"make run STATE_DIR={tmp_path}-2 ARGS=" in err
        # the first one's runtime.json is its own, untouched, and it still serves
        assert (tmp_path / "runtime.json").read_text() == held
        assert requests.get(f"{info['api']}/v1/me", timeout=10).status_code == 401

        # closing its terminal (SIGHUP) ends everything it started (SIGTERM: the quiet console's test)
        children = descendants(first.pid)
        assert any("java" in _command(pid) for pid in children), children
        first.send_signal(signal.SIGHUP)
        first.wait(timeout=30)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and any(alive(pid) for pid in children):
            time.sleep(0.2)
        assert not [pid for pid in children if alive(pid)], [_command(p) for p in children if alive(p)]
        assert not (tmp_path / "runtime.json").exists()  # removed by its owner as it stopped
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)

    # the folder is free again, and --persist kept the data
    again = start(tmp_path, *ports(free_port()), "--persist")
    try:
        ready(again)
        endpoint = json.loads((tmp_path / "runtime.json").read_text())["dynamodb_endpoint"]
        assert client(endpoint).get_item(TableName="customer-profiles-local", Key=key).get("Item") == key
    finally:
        again.send_signal(signal.SIGINT)
        again.wait(timeout=30)


def test_after_kill_9_busy_workers_end_at_once_and_the_commands_see_the_runtime_is_gone(tmp_path):
    process = start(tmp_path, *ports(free_port()))
    java = None
    try:
        ready(process)
        api = json.loads((tmp_path / "runtime.json").read_text())["api"]
        token = mint_token("alice", email="alice@example.com", email_verified=True, state_dir=tmp_path)
        headers = {"Authorization": f"Bearer {token}"}
        assert requests.put(f"{api}/v1/me", headers=headers, timeout=30).status_code == 201  # workers started
        (java,) = [pid for pid in descendants(process.pid) if "java" in _command(pid)]
        # DynamoDB stops answering: the next request's workers wait on it, in a handler, not on their stdin
        os.kill(java, signal.SIGSTOP)
        threading.Thread(target=_quietly, args=(requests.get, f"{api}/v1/me"), kwargs={"headers": headers}).start()
        time.sleep(2)
        children = descendants(process.pid)
        assert len(children) >= 3, [_command(p) for p in children]  # java, workers

        process.kill()
        process.wait(timeout=10)
        os.kill(java, signal.SIGCONT)  # its parent-death signal waits for it to run again

        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(alive(pid) for pid in children):
            time.sleep(0.1)
        assert not [pid for pid in children if alive(pid)], [_command(p) for p in children if alive(p)]
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        if java and alive(java):
            os.kill(java, signal.SIGCONT)

    # runtime.json is left behind by the killed runtime: what reads it says so at once, with no traceback
    assert (tmp_path / "runtime.json").exists()
    for command, code in (
        (["local_runtime.token", "--sub", "x", "--org", "org-a", "--role", "pos"], 2),
        (["scripts.operator", "add-staff", "--org-id", "org-a", "--subject", "x", "--role", "admin"], 1),
    ):
        started = time.monotonic()
        result = subprocess.run(
            [sys.executable, "-m", *command],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "STATE_DIR": str(tmp_path)},
            check=False,
        )
        assert result.returncode == code, result.stderr
        assert "no longer running" in result.stderr and "Traceback" not in result.stderr, result.stderr
        assert time.monotonic() - started < 30


def test_the_lambda_endpoint_stays_on_loopback_whatever_host_says_and_the_console_is_quiet(tmp_path):
    # `--host 0.0.0.0` puts the API on the network, as asked; nothing is sent off loopback here
    process = start(tmp_path, "--host", "0.0.0.0", *ports(free_port()))
    try:
        lines = ready(process)
        api = json.loads((tmp_path / "runtime.json").read_text())["api"]
        sockets = listening(process.pid)
        good = mint_token("bob", email="bob@example.com", email_verified=True, state_dir=tmp_path)
        statuses = [
            requests.get(f"{api}/v1/me", timeout=30).status_code,
            requests.get(f"{api}/v1/me", headers={"Authorization": "Bearer not-a-token"}, timeout=30).status_code,
            requests.get(f"{api}/v1/me", headers={"Authorization": f"Bearer {good}x"}, timeout=30).status_code,
            requests.put(f"{api}/v1/me", headers={"Authorization": f"Bearer {good}"}, timeout=30).status_code,
        ]
        children = descendants(process.pid)
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)

    # SIGTERM ends everything it started
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and any(alive(pid) for pid in children):
        time.sleep(0.2)
    assert not [pid for pid in children if alive(pid)], [_command(p) for p in children if alive(p)]
    assert not (tmp_path / "runtime.json").exists()
    api_port = int(api.rsplit(":", 1)[1])
    python = [address for name, addresses in sockets.items() if "local_runtime" in name for address in addresses]
    assert f"0.0.0.0:{api_port}" in python
    others = [a for addresses in sockets.values() for a in addresses if a != f"0.0.0.0:{api_port}"]
    assert len(others) >= 2 and all(is_loopback(a) for a in others), sockets  # the Lambda endpoint, DynamoDB
    assert statuses == [401, 401, 401, 201]
    # the banner: where things are, the commands for this state folder, a second instance; no route list
    banner = "\n".join(lines)
    assert f'make token STATE_DIR={tmp_path} ARGS="--sub' in banner
    assert f"make operator STATE_DIR={tmp_path} ARGS=" in banner
    assert f'make run STATE_DIR={tmp_path}-2 ARGS="--port {api_port + 100} --lambda-port 0 --dynamodb-port 0"' in banner
    assert "/v1/orgs/" not in banner and len(lines) <= 7
    # the console: a warning for --host, then at most one line per request; no traceback for refused tokens
    console = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in err and '"_aws"' not in err, err
    assert any("warning: the API listens on 0.0.0.0" in line for line in console), console
    assert len(console) <= 1 + len(statuses), console


def _quietly(call, *args, **kwargs) -> None:
    with suppress(requests.RequestException):
        call(*args, **kwargs, timeout=60)


def _command(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""
