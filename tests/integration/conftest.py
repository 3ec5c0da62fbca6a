"""The local runtime, started once for the integration session: DynamoDB Local and the API over real HTTP."""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests

from local_runtime.idp import mint_token
from local_runtime.staff import grant_local

ROOT = Path(__file__).resolve().parents[2]
READY = re.compile(r"local runtime ready on (http://\S+)")
DYNAMODB = re.compile(r"DynamoDB at (http://\S+)")
LAMBDA = re.compile(r"Lambda endpoint at (http://\S+)")
TABLE = "customer-profiles-local"

pytestmark = pytest.mark.integration


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Runtime:
    base_url: str
    dynamodb_endpoint: str
    state_dir: Path
    lambda_endpoint: str = ""
    pid: int = 0

    def token(self, sub: str | None = None, *, org_id: str | None = None, roles: Any = (), **claims: Any) -> str:
        """A local token; with `org_id`, its subject is first made staff of the org with `roles` (a
        membership, as `make token ARGS="--org ... --role ..."` makes one) and it comes from the staff console."""
        sub = sub or f"user-{uuid.uuid4().hex[:10]}"
        if org_id:
            grant_local(self.dynamodb_endpoint, TABLE, org_id, sub, list(roles))
            claims.setdefault("client_id", "local-staff-console")
        extra = claims.pop("extra_claims", None)
        return mint_token(sub, state_dir=self.state_dir, extra_claims=extra, **claims)

    def call(
        self,
        method: str,
        path: str,
        token: str | None = None,
        *,
        json_body: Any = None,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> requests.Response:
        all_headers = {**({"Authorization": f"Bearer {token}"} if token else {}), **(headers or {})}
        return requests.request(method, self.base_url + path, json=json_body, headers=all_headers, timeout=30, **kwargs)

    def table(self) -> Any:
        return boto3.resource(
            "dynamodb",
            endpoint_url=self.dynamodb_endpoint,
            region_name="us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",
        ).Table(TABLE)

    def published(self) -> list[dict[str, Any]]:
        sink = self.state_dir / "events.jsonl"
        return [json.loads(line) for line in sink.read_text().splitlines()] if sink.exists() else []

    def wait_for(self, predicate: Callable[[], Any], timeout: float = 20.0) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = predicate()
            if result:
                return result
            time.sleep(0.2)
        raise AssertionError(f"not true within {timeout} s")


@contextmanager
def local_runtime(state_dir: Path, *extra: str) -> Iterator[Runtime]:
    """The local runtime as a developer starts it (`make run ARGS=...`), on free ports, stopped on exit."""
    log = (state_dir / "runtime.log").open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "local_runtime",
            "--port",
            str(free_port()),
            "--dynamodb-port",
            "0",
            "--lambda-port",
            "0",
            "--state-dir",
            str(state_dir),
            *extra,
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
        start_new_session=True,
        env={**os.environ, "SAM_CLI_TELEMETRY": "0"},
    )
    base_url = endpoint = lambda_endpoint = None
    deadline = time.monotonic() + 90
    assert process.stdout is not None
    while time.monotonic() < deadline and base_url is None:
        line = process.stdout.readline()
        if not line:
            break
        endpoint = endpoint or (m.group(1) if (m := DYNAMODB.search(line)) else None)
        lambda_endpoint = lambda_endpoint or (m.group(1) if (m := LAMBDA.search(line)) else None)
        base_url = m.group(1) if (m := READY.search(line)) else None
    if base_url is None or endpoint is None:
        process.kill()
        pytest.fail(f"local runtime did not start:\n{(state_dir / 'runtime.log').read_text()[-3000:]}")
    try:
        yield Runtime(
            base_url=base_url,
            dynamodb_endpoint=endpoint.rstrip(");,"),
            state_dir=state_dir,
            lambda_endpoint=lambda_endpoint or "",
            pid=process.pid,
        )
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        log.close()


@pytest.fixture(scope="session")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    state_dir = tmp_path_factory.mktemp("local-runtime")
    with local_runtime(state_dir) as started:
        yield started
        # Nothing the suite did may have parked a stream batch: the one test that parks a poison record on
        # purpose re-drives it and clears the file.
        failures = state_dir / "linker-failures.jsonl"
        assert not failures.exists() or failures.read_text() == "", failures.read_text()[:2000]


@pytest.fixture(scope="session")
def chaos_runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    """The local runtime with `--chaos`: transaction conflicts, lagging indexes, parallel out-of-order stream
    shards, redelivered batches, and the authorizer's answer cached per token as API Gateway caches it."""
    with local_runtime(tmp_path_factory.mktemp("chaos-runtime"), "--chaos", "7") as started:
        yield started
