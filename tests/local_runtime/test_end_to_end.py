"""Start ``python -m local_runtime`` for real: DynamoDB Local, tables, API, and a clean shutdown."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from local_runtime.dynamodb import client
from local_runtime.poller import DynamoDBStreamSource, StreamPoller
from local_runtime.pool import InvokeResult
from local_runtime.template import LOCAL_PARAMETERS, StreamSourceSpec, load_template

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def descendants(pid: int) -> set[int]:
    out = subprocess.run(["ps", "-eo", "pid=,ppid=,pgid="], capture_output=True, text=True, check=True).stdout
    rows = [tuple(int(x) for x in line.split()) for line in out.splitlines() if line.strip()]
    found = {pid}
    changed = True
    while changed:
        changed = False
        for child, parent, _ in rows:
            if parent in found and child not in found:
                found.add(child)
                changed = True
    return found - {pid}


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split()[2] != "Z"
    except OSError:
        return False


@pytest.mark.integration
def test_local_runtime_starts_serves_and_stops_cleanly(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "local_runtime",
            "--port",
            str(port),
            "--dynamodb-port",
            "0",
            "--lambda-port",
            "0",
            "--state-dir",
            str(tmp_path),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
        start_new_session=True,
    )
    children: set[int] = set()
    try:
        lines: list[str] = []
        deadline = time.monotonic() + 60
        assert proc.stdout is not None
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line.rstrip("\n"))
            if line.startswith("local runtime ready on "):
                break
        assert lines and lines[-1] == f"local runtime ready on http://127.0.0.1:{port}", lines
        endpoint = re.search(r"DynamoDB at (http://[^ ,)]+)", lines[0])
        assert endpoint, lines[0]

        template = load_template(ROOT / "template.yaml", LOCAL_PARAMETERS)
        ddb = client(endpoint.group(1))
        names = set(ddb.list_tables()["TableNames"])
        assert {t.name for t in template.tables.values()} <= names
        assert (tmp_path / "idp" / "jwks.json").exists()

        # the server answers (the handlers are someone else's; any HTTP answer will do)
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/me", timeout=20) as resp:
                status = resp.status
        except urllib.error.HTTPError as exc:
            status = exc.code
        assert 200 <= status < 600

        # the boto3 stream source against the real DynamoDB Local, in Lambda's record shape
        ddb.create_table(
            TableName="poller-probe",
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )
        stream_arn = ddb.describe_table(TableName="poller-probe")["Table"]["LatestStreamArn"]
        for i in range(3):
            ddb.put_item(TableName="poller-probe", Item={"pk": {"S": f"k{i}"}, "n": {"N": str(i)}})
        ddb.update_item(
            TableName="poller-probe",
            Key={"pk": {"S": "k0"}},
            UpdateExpression="SET n = :n",
            ExpressionAttributeValues={":n": {"N": "9"}},
        )
        events: list[dict[str, Any]] = []

        def invoke(event: dict[str, Any]) -> InvokeResult:
            events.append(event)
            return InvokeResult({}, False)

        source = DynamoDBStreamSource(client(endpoint.group(1), "dynamodbstreams"), stream_arn)
        poller = StreamPoller(source, invoke, StreamSourceSpec("S", "T", batch_size=2), lambda _r: None)
        for _ in range(20):
            poller.poll_once()
            if sum(len(e["Records"]) for e in events) >= 4:
                break
            time.sleep(0.1)
        records = [r for e in events for r in e["Records"]]
        assert [r["eventName"] for r in records] == ["INSERT", "INSERT", "INSERT", "MODIFY"]
        assert all(len(e["Records"]) <= 2 for e in events)
        last = records[-1]
        assert last["eventSourceARN"] == stream_arn and last["eventVersion"] == "1.1"
        assert last["eventSource"] == "aws:dynamodb"
        assert last["dynamodb"]["OldImage"]["n"] == {"N": "0"} and last["dynamodb"]["NewImage"]["n"] == {"N": "9"}
        assert isinstance(last["dynamodb"]["ApproximateCreationDateTime"], (int, float))

        children = descendants(proc.pid)
        assert any(
            "java" in Path(f"/proc/{c}/cmdline").read_text(errors="replace")
            for c in children
            if Path(f"/proc/{c}/cmdline").exists()
        )
    finally:
        children |= descendants(proc.pid)
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            raise
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(alive(c) for c in children):
            time.sleep(0.1)
        leftovers = [c for c in children if alive(c)]
        for c in leftovers:
            os.kill(c, signal.SIGKILL)
    assert proc.returncode == 0
    assert leftovers == []
