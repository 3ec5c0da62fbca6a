"""The Lambda Invoke API on a port of its own, as `sam local start-lambda` serves it, over our warm workers.

`POST /2015-03-31/functions/{name}/invocations` with `X-Amz-Invocation-Type` RequestResponse (the answer,
`X-Amz-Function-Error: Unhandled` on an error), Event (202, run in the background) or DryRun (204). So
`boto3.client("lambda", endpoint_url=...).invoke(...)` and the AWS CLI work against it.

It runs any function with any event, so only programs on this machine may call it: it listens on loopback
(another host only with `--lambda-host`), and refuses what a web page could send: a request with an `Origin`
(browsers send one; SDKs and the CLI do not), a `Host` that is not this machine's (a DNS-rebinding page reaches
127.0.0.1 under its own name), and a body a form can post without asking (`text/plain`, form encodings) or
that is not JSON.
"""

from __future__ import annotations

import ipaddress
import json
import re
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

from local_runtime.pool import LocalRunner

INVOCATIONS = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/invocations/?$")
LOOPBACK_NAMES = {"localhost", "localhost.localdomain"}
# What SDKs send: boto3 and the AWS CLI no Content-Type, the JavaScript SDK application/octet-stream.
JSON_TYPES = re.compile(r"^application/(json|[\w.+-]+\+json|x-amz-json-1\.[01]|octet-stream)$")


def is_loopback(host: str) -> bool:
    """A host name or address of this machine's loopback interface (`127.0.0.1`, `[::1]`, `localhost`)."""
    name = host.strip("[]").lower()
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _is_address(name: str) -> bool:
    try:
        ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        return False
    return True


def host_allowed(header: str | None, bound_host: str) -> bool:
    """The request's Host names this machine: a loopback name, or, when the endpoint was put on another
    interface (`--lambda-host`), that host or an IP address (a rebinding page's Host is its own DNS name)."""
    if not header:
        return False
    name = header[: header.index("]") + 1] if header.startswith("[") else header.split(":", 1)[0]
    if is_loopback(name):
        return True
    return not is_loopback(bound_host) and (name.strip("[]") == bound_host or _is_address(name))


class LambdaEndpoint:
    """The endpoint's server: bound when made (so a taken port shows before anything starts), serving once
    `serve` gives it the runner."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.runner: LocalRunner | None = None
        self.server = ThreadingHTTPServer((host, port), _handler(self))
        self.server.daemon_threads = True

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def serve(self, runner: LocalRunner) -> None:
        self.runner = runner
        threading.Thread(target=self.server.serve_forever, name="lambda-api", daemon=True).start()

    def shutdown(self) -> None:
        if self.runner is not None:
            self.server.shutdown()
        self.server.server_close()


class InvokeHandler(BaseHTTPRequestHandler):
    """One request to the endpoint (`_handler` binds the class to its endpoint)."""

    endpoint: LambdaEndpoint

    def do_POST(self) -> None:
        if self._refused():
            return
        match = INVOCATIONS.match(self.path.split("?", 1)[0])
        if not match:
            self._error(HTTPStatus.NOT_FOUND, "ResourceNotFoundException", f"no route {self.path}")
            return
        runner = self.endpoint.runner
        assert runner is not None
        name = unquote(match["name"])  # boto3 sends an ARN's colons URL-encoded
        try:
            fn = runner.find(name)
        except KeyError:
            self._error(HTTPStatus.NOT_FOUND, "ResourceNotFoundException", f"Function not found: {name}")
            return
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            event = json.loads(body or b"{}")
        except ValueError:
            self._error(HTTPStatus.BAD_REQUEST, "InvalidRequestContentException", "Could not parse request body")
            return
        self._invoke(runner, fn.logical_id, event, self.headers.get("X-Amz-Invocation-Type", "RequestResponse"))

    def _invoke(self, runner: LocalRunner, logical_id: str, event: Any, kind: str) -> None:
        if kind == "DryRun":
            self._answer(HTTPStatus.NO_CONTENT, b"")
        elif kind == "Event":
            threading.Thread(target=runner.invoke_event, args=(logical_id, event), daemon=True).start()
            self._answer(HTTPStatus.ACCEPTED, b"")
        elif kind == "RequestResponse":
            result = runner.invoke_event(logical_id, event)
            headers = {"X-Amz-Function-Error": "Unhandled"} if result.is_error else {}
            self._answer(HTTPStatus.OK, json.dumps(result.payload).encode(), headers)
        else:
            self._error(HTTPStatus.BAD_REQUEST, "InvalidParameterValueException", f"invocation type {kind}")

    def do_GET(self) -> None:
        if not self._refused():
            self._error(HTTPStatus.NOT_FOUND, "ResourceNotFoundException", f"no route {self.path}")

    do_PUT = do_DELETE = do_PATCH = do_HEAD = do_GET

    def do_OPTIONS(self) -> None:  # a browser's preflight: it carries an Origin, so it is refused
        if not self._refused():
            self._error(HTTPStatus.NOT_FOUND, "ResourceNotFoundException", f"no route {self.path}")

    def _refused(self) -> bool:
        """Refuses (403, 415) what does not come from a program on this machine."""
        origin = self.headers.get("Origin")
        if origin is not None:
            self._error(HTTPStatus.FORBIDDEN, "AccessDeniedException", f"a web page's request (Origin {origin})")
            return True
        if not host_allowed(self.headers.get("Host"), self.endpoint.host):
            host = self.headers.get("Host")
            self._error(HTTPStatus.FORBIDDEN, "AccessDeniedException", f"Host {host} is not this machine")
            return True
        content_type = (self.headers.get("Content-Type") or "").split(";", 1)[0].strip().lower()
        if content_type and not JSON_TYPES.match(content_type):
            message = f"Content-Type {content_type}: the payload is JSON"
            self._error(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "UnsupportedMediaTypeException", message)
            return True
        return False

    def _answer(self, status: HTTPStatus, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Amz-Executed-Version", "$LATEST")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _error(self, status: HTTPStatus, kind: str, message: str) -> None:
        body = json.dumps({"Type": "User", "message": message}).encode()
        self._answer(status, body, {"x-amzn-ErrorType": kind})

    def log_message(self, format: str, *args: Any) -> None:
        return  # the workers log; one line per request here would only repeat them


def _handler(endpoint: LambdaEndpoint) -> type[BaseHTTPRequestHandler]:
    return type("EndpointInvokeHandler", (InvokeHandler,), {"endpoint": endpoint})
