"""`python -m local_runtime invoke`: `sam local invoke` without Docker, for an event of each function (every
event goes through its function's warm worker in tests/integration/test_lambda_endpoint.py: a process per
event here cost a minute of CPU)."""

import json
import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from local_runtime.dynamodb import DynamoDBLocal
from local_runtime.idp import mint_token

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"
FUNCTIONS = {
    "authorizer-": "AuthorizerFunction",
    "app-api-": "AppApiFunction",
    "org-api-": "OrgApiFunction",
    "partner-webhooks-": "PartnerWebhooksFunction",
    "linker-": "LinkerFunction",
}

# its module fixtures are made once: with `--dist loadgroup` (make test) the file's tests share a worker
pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("test_invoke")]


@pytest.fixture(scope="module")
def dynamodb(tmp_path_factory):
    local = DynamoDBLocal(ROOT, port=0, log_path=tmp_path_factory.mktemp("ddb") / "ddb.log")
    local.start()
    yield local.endpoint
    local.stop()


@pytest.fixture(scope="module")
def state_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("invoke-state")


def invoke(function, *args, dynamodb, state_dir, stdin=None):
    command = [sys.executable, "-m", "local_runtime", "invoke", function, "--dynamodb-endpoint", dynamodb]
    command += ["--state-dir", str(state_dir), *args]
    return subprocess.run(
        command,
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "SAM_CLI_TELEMETRY": "0"},
    )


def test_an_event_of_each_function_invokes_cleanly_through_it(dynamodb, state_dir, tmp_path):
    one_each = [next(iter(sorted(EVENTS.glob(f"{prefix}*.json")))) for prefix in FUNCTIONS]

    def run(path):
        event = json.loads(path.read_text())
        if path.name.startswith("authorizer-"):  # the committed event holds a placeholder: a fresh token
            event["headers"]["Authorization"] = f"Bearer {mint_token('invoker', state_dir=state_dir)}"
        fresh = tmp_path / path.name
        fresh.write_text(json.dumps(event))
        function = next(f for prefix, f in FUNCTIONS.items() if path.name.startswith(prefix))
        return path.name, invoke(function, "-e", str(fresh), dynamodb=dynamodb, state_dir=state_dir)

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(run, one_each))

    for name, result in results:
        assert result.returncode == 0, (name, result.stdout, result.stderr[-2000:])
        answer = json.loads(result.stdout)  # the answer alone on stdout
        if "statusCode" in answer:
            assert answer["statusCode"] < 500, (name, answer)
    assert len(results) == len(FUNCTIONS)


def test_an_unhandled_error_exits_non_zero_with_lambdas_error_shape_and_logs_on_stderr(dynamodb, state_dir):
    event = (EVENTS / "authorizer-request.json").read_text()  # its placeholder token is refused

    result = invoke("AuthorizerFunction", "-e", "-", dynamodb=dynamodb, state_dir=state_dir, stdin=event)

    assert result.returncode == 1
    error = json.loads(result.stdout)
    assert (error["errorMessage"], error["errorType"]) == ("Unauthorized", "Exception") and error["stackTrace"]
    assert "token refused" in result.stderr


def test_env_vars_and_parameter_overrides_reach_the_function(dynamodb, state_dir, tmp_path):
    staff = f"Bearer {mint_token('till', client_id='local-staff-console', state_dir=state_dir)}"
    event = json.loads((EVENTS / "authorizer-request.json").read_text())
    event["headers"]["Authorization"] = staff
    (tmp_path / "event.json").write_text(json.dumps(event))

    as_staff = invoke("AuthorizerFunction", "-e", str(tmp_path / "event.json"), dynamodb=dynamodb, state_dir=state_dir)
    as_user = invoke(
        "AuthorizerFunction",
        "-e",
        str(tmp_path / "event.json"),
        "--parameter-overrides",
        "StaffClientIds=nobody",
        dynamodb=dynamodb,
        state_dir=state_dir,
    )
    (tmp_path / "env.json").write_text(json.dumps({"AuthorizerFunction": {"STAFF_CLIENT_IDS": "someone-else"}}))
    as_user_by_env = invoke(
        "AuthorizerFunction",
        "-e",
        str(tmp_path / "event.json"),
        "--env-vars",
        str(tmp_path / "env.json"),
        dynamodb=dynamodb,
        state_dir=state_dir,
    )

    kind = lambda result: json.loads(result.stdout)["context"]["kind"]  # noqa: E731
    assert (kind(as_staff), kind(as_user), kind(as_user_by_env)) == ("staff", "user", "user")


def test_a_debug_port_starts_the_function_under_debugpy_waiting_for_an_ide(dynamodb, state_dir):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    command = [sys.executable, "-m", "local_runtime", "invoke", "LinkerFunction", "--dynamodb-endpoint", dynamodb]
    process = subprocess.Popen(
        [*command, "--state-dir", str(state_dir), "--debug-port", str(port)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.2)
        else:
            pytest.fail("debugpy never listened")
        assert process.poll() is None  # waiting for the IDE, the invocation has not run
        time.sleep(1)  # for its line on stderr to reach the command's
    finally:
        os.killpg(process.pid, 9)
        process.wait()
    assert f"waiting for a debugger on 127.0.0.1:{port} (LinkerFunction)" in process.stderr.read().decode()
    # the worker left waiting for an IDE ends with the command that started it
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            time.sleep(0.2)
        except OSError:
            break
    else:
        pytest.fail("the debug worker outlived its command")
