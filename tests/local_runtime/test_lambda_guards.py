"""The Lambda Invoke endpoint runs any function with any event, so it takes requests only from programs on this
machine: not from a web page (an Origin, a form's content type) nor through a rebinding DNS name (a Host that is
not this machine's). A fake runner stands in for the workers."""

import json
from types import SimpleNamespace

import pytest
import requests

from local_runtime.lambda_api import LambdaEndpoint, host_allowed, is_loopback
from local_runtime.pool import InvokeResult

INVOKE = "/2015-03-31/functions/LinkerFunction/invocations"


class FakeRunner:
    def __init__(self) -> None:
        self.events: list = []

    def find(self, name):
        if name != "LinkerFunction":
            raise KeyError(name)
        return SimpleNamespace(logical_id=name)

    def invoke_event(self, logical_id, event):
        self.events.append(event)
        return InvokeResult({"ok": True}, False)


@pytest.fixture
def endpoint():
    runner = FakeRunner()
    served = LambdaEndpoint("127.0.0.1", 0)
    served.serve(runner)  # type: ignore[arg-type]
    yield f"http://127.0.0.1:{served.port}", runner
    served.shutdown()


def test_an_sdk_request_is_answered(endpoint):
    url, runner = endpoint

    answer = requests.post(url + INVOKE, data=b'{"a": 1}', timeout=5)  # boto3 sends no Content-Type

    assert answer.status_code == 200 and answer.json() == {"ok": True}
    assert runner.events == [{"a": 1}]


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"Origin": "http://evil.example"}, 403),
        ({"Origin": "null"}, 403),  # a sandboxed page or a file
        ({"Host": "evil.example"}, 403),  # a DNS-rebinding page: 127.0.0.1 under its own name
        ({"Host": "evil.example:3001"}, 403),
        ({"Content-Type": "text/plain"}, 415),  # what a page may post without asking first
        ({"Content-Type": "application/x-www-form-urlencoded"}, 415),
        ({"Content-Type": "multipart/form-data; boundary=x"}, 415),
    ],
)
def test_what_a_web_page_can_send_is_refused_and_runs_nothing(endpoint, headers, status):
    url, runner = endpoint

    answer = requests.post(url + INVOKE, data=b'{"a": 1}', headers=headers, timeout=5)

    assert answer.status_code == status
    assert answer.headers["x-amzn-ErrorType"] in ("AccessDeniedException", "UnsupportedMediaTypeException")
    assert runner.events == []


def test_a_preflight_is_refused(endpoint):
    url, _ = endpoint
    headers = {"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"}

    answer = requests.options(url + INVOKE, headers=headers, timeout=5)

    assert answer.status_code == 403 and "Access-Control-Allow-Origin" not in answer.headers


@pytest.mark.parametrize("content_type", ["application/json", "application/octet-stream", "application/x-amz-json-1.1"])
def test_what_sdks_send_is_taken(endpoint, content_type):
    url, runner = endpoint

    answer = requests.post(url + INVOKE, data=b"{}", headers={"Content-Type": content_type}, timeout=5)

    assert answer.status_code == 200 and runner.events == [{}]


def test_a_body_that_is_not_json_is_refused(endpoint):
    url, runner = endpoint

    answer = requests.post(url + INVOKE, data=b"a=1&b=2", timeout=5)

    assert answer.status_code == 400 and json.loads(answer.content)["message"] == "Could not parse request body"
    assert runner.events == []


@pytest.mark.parametrize(
    ("host", "bound", "allowed"),
    [
        ("127.0.0.1:3001", "127.0.0.1", True),
        ("localhost:3001", "127.0.0.1", True),
        ("[::1]:3001", "127.0.0.1", True),
        ("127.0.0.2", "127.0.0.1", True),
        ("evil.example:3001", "127.0.0.1", False),
        ("192.0.2.10:3001", "127.0.0.1", False),  # another address of the machine: not while on loopback
        ("192.0.2.10:3001", "0.0.0.0", True),  # --lambda-host 0.0.0.0: an address, which no DNS name rebinds
        ("evil.example:3001", "0.0.0.0", False),
        ("devbox:3001", "devbox", True),  # --lambda-host devbox
        (None, "127.0.0.1", False),
    ],
)
def test_the_host_must_be_this_machine(host, bound, allowed):
    assert host_allowed(host, bound) is allowed


def test_loopback_names():
    assert all(map(is_loopback, ["127.0.0.1", "localhost", "::1", "[::1]", "127.9.9.9"]))
    assert not any(map(is_loopback, ["0.0.0.0", "192.0.2.1", "evil.example", "localhost.evil.example"]))
