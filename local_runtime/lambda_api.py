"""The Lambda Invoke API on a port of its own, as `sam local start-lambda` serves it, over our warm workers.

`POST /2015-03-31/functions/{name}/invocations` with `X-Amz-Invocation-Type` RequestResponse (the answer,
`X-Amz-Function-Error: Unhandled` on an error), Event (202, run in the background) or DryRun (204). So
`boto3.client("lambda", endpoint_url=...).invoke(...)` and the AWS CLI work against it.
"""

from __future__ import annotations

import json
import re
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

from local_runtime.pool import LocalRunner

INVOCATIONS = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/invocations/?$")


def serve_lambda_api(runner: LocalRunner, host: str, port: int) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer((host, port), _handler(runner))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="lambda-api", daemon=True).start()
    return server


def _handler(runner: LocalRunner) -> type[BaseHTTPRequestHandler]:
    class InvokeHandler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            match = INVOCATIONS.match(self.path.split("?", 1)[0])
            if not match:
                self._error(HTTPStatus.NOT_FOUND, "ResourceNotFoundException", f"no route {self.path}")
                return
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
            kind = self.headers.get("X-Amz-Invocation-Type", "RequestResponse")
            if kind == "DryRun":
                self._answer(HTTPStatus.NO_CONTENT, b"")
            elif kind == "Event":
                threading.Thread(target=runner.invoke_event, args=(fn.logical_id, event), daemon=True).start()
                self._answer(HTTPStatus.ACCEPTED, b"")
            elif kind == "RequestResponse":
                result = runner.invoke_event(fn.logical_id, event)
                headers = {"X-Amz-Function-Error": "Unhandled"} if result.is_error else {}
                self._answer(HTTPStatus.OK, json.dumps(result.payload).encode(), headers)
            else:
                self._error(HTTPStatus.BAD_REQUEST, "InvalidParameterValueException", f"invocation type {kind}")

        def _answer(self, status: HTTPStatus, body: bytes, headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("X-Amz-Executed-Version", "$LATEST")
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _error(self, status: HTTPStatus, kind: str, message: str) -> None:
            body = json.dumps({"Type": "User", "message": message}).encode()
            self._answer(status, body, {"x-amzn-ErrorType": kind})

        def log_message(self, format: str, *args: Any) -> None:
            return  # the workers log; one line per request here would only repeat them

    return InvokeHandler
