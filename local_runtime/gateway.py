"""SAM CLI's local API Gateway, closer to the real one where our clients can tell the difference.

SAM's service answers an authorizer that raises "Unauthorized" (API Gateway's contract for a 401) with a 500,
uses its own bodies for gateway errors, and fails a body that is not UTF-8 with a 502. Here all three follow
API Gateway and the API's `GatewayResponses`, so local clients see what deployed clients see.
"""

from __future__ import annotations

import json
import logging
import signal
import socket
import sys
import threading
import time
from typing import Any

from flask import Response, make_response, request
from samcli.local.apigw.local_apigw_service import LocalApigwService
from samcli.yamlhelper import yaml_parse
from werkzeug.serving import WSGIRequestHandler

# API Gateway's own bodies where the template sets none.
DEFAULT_RESPONSES = {
    "UNAUTHORIZED": (401, {"message": "Unauthorized"}),
    "ACCESS_DENIED": (403, {"message": "User is not authorized to access this resource"}),
    "MISSING_AUTHENTICATION_TOKEN": (403, {"message": "Missing Authentication Token"}),
    "AUTHORIZER_FAILURE": (500, {"message": None}),
}
# The bodies SAM's service builds for those conditions.
SAM_BODIES = {
    (401, "Unauthorized"): "UNAUTHORIZED",
    (403, "User is not authorized to access this resource"): "ACCESS_DENIED",
}


def gateway_responses(template_path: str) -> dict[str, tuple[int, Any]]:
    """The APIs' `GatewayResponses` (response type -> status and JSON body), over API Gateway's defaults."""
    responses: dict[str, tuple[int, Any]] = dict(DEFAULT_RESPONSES)
    with open(template_path, encoding="utf-8") as template:
        resources = yaml_parse(template.read()).get("Resources", {})
    for resource in resources.values():
        if resource.get("Type") != "AWS::Serverless::Api":
            continue
        for kind, props in resource.get("Properties", {}).get("GatewayResponses", {}).items():
            status = int(props.get("StatusCode", responses.get(kind, (500, None))[0]))
            body = props.get("ResponseTemplates", {}).get("application/json")
            try:
                parsed = json.loads(body) if body else responses.get(kind, (status, None))[1]
            except ValueError:
                continue  # a template with $context variables: API Gateway's own answers stand in locally
            responses[kind] = (status, parsed)
    return responses


def reauthorize_every(template_path: str) -> int:
    """The longest ReauthorizeEvery of the template's Lambda authorizers (API Gateway's default: 300 s)."""
    with open(template_path, encoding="utf-8") as template:
        resources = yaml_parse(template.read()).get("Resources", {})
    seconds = [
        int(authorizer.get("Identity", {}).get("ReauthorizeEvery", 300))
        for resource in resources.values()
        if resource.get("Type") == "AWS::Serverless::Api"
        for authorizer in resource.get("Properties", {}).get("Auth", {}).get("Authorizers", {}).values()
    ]
    return max(seconds, default=0)


def _error_message(output: str | bytes) -> str | None:
    try:
        parsed = json.loads(output)
    except ValueError:
        return None
    return parsed.get("errorMessage") if isinstance(parsed, dict) else None


class AuthorizerRefused(Exception):
    """The authorizer raised "Unauthorized"."""


class GatewayService(LocalApigwService):
    def __init__(self, *args: Any, template_path: str, authorizer_cache_seconds: int = 0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._responses = gateway_responses(template_path)
        self._in_authorizer = threading.local()
        # API Gateway caches an authorizer's policy per identity source (ReauthorizeEvery); SAM never does.
        # The chaos mode turns it on, so that what a cached policy would hide shows locally.
        self._cache_seconds = authorizer_cache_seconds
        self._cache: dict[str, tuple[float, Any]] = {}
        self._cache_lock = threading.Lock()

    def gateway_response(self, kind: str) -> Response:
        status, body = self._responses[kind]
        response = make_response(json.dumps(body), status)
        response.headers["Content-Type"] = "application/json"
        return response

    def _construct_error_handling(self) -> None:
        # API Gateway answers an undeclared path or method with MISSING_AUTHENTICATION_TOKEN.
        self._app.register_error_handler(404, lambda _: self.gateway_response("MISSING_AUTHENTICATION_TOKEN"))
        self._app.register_error_handler(405, lambda _: self.gateway_response("MISSING_AUTHENTICATION_TOKEN"))

    def _invoke_parse_lambda_authorizer(self, *args: Any, **kwargs: Any) -> Any:
        self._in_authorizer.active = True
        try:
            return super()._invoke_parse_lambda_authorizer(*args, **kwargs)
        finally:
            self._in_authorizer.active = False

    def _invoke_lambda_function(self, lambda_function_name: str, event: dict, tenant_id: str | None = None) -> Any:
        in_authorizer = getattr(self._in_authorizer, "active", False)
        identity = str((event.get("headers") or {}).get("Authorization", "")) if in_authorizer else ""
        if identity and self._cache_seconds:
            with self._cache_lock:
                cached = self._cache.get(identity)
            if cached and cached[0] > time.monotonic():
                return cached[1]
        output = super()._invoke_lambda_function(lambda_function_name, event, tenant_id)
        if in_authorizer and _error_message(output) == "Unauthorized":
            raise AuthorizerRefused()
        if identity and self._cache_seconds:
            with self._cache_lock:
                self._cache[identity] = (time.monotonic() + self._cache_seconds, output)
        return output

    def _request_handler(self, **kwargs: Any) -> Any:
        # API Gateway passes a body that is not UTF-8 on as text (binary media types aside), where SAM's
        # service fails the request with a 502: the bytes reach the handler, which refuses them itself.
        data = request.get_data(cache=True)
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            request._cached_data = data.decode("utf-8", "replace").encode("utf-8")  # noqa: SLF001
        try:
            response = super()._request_handler(**kwargs)
        except AuthorizerRefused:
            return self.gateway_response("UNAUTHORIZED")
        return self._as_gateway_response(response)

    def _as_gateway_response(self, response: Any) -> Any:
        if getattr(response, "status_code", None) not in (401, 403):
            return response
        try:
            message = json.loads(response.get_data()).get("message")
        except (ValueError, AttributeError):
            return response
        kind = SAM_BODIES.get((response.status_code, message))
        return self.gateway_response(kind) if kind else response


def listen(host: str, port: int) -> socket.socket:
    """The API's listening socket, bound before anything else starts (port 0: a free one)."""
    return socket.create_server((host, port))


class _RefusedTokenNotice(logging.Filter):
    """Drops SAM's "Lambda authorizer failed to invoke successfully" for a refused token (AuthorizerRefused):
    an answer, not a failure. Other authorizer failures still show."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.msg.startswith("Lambda authorizer failed") and record.args == ("",))


def quiet_sam_logs(verbose: bool) -> None:
    """SAM's own lines on the console: warnings and errors with --log-level INFO or DEBUG; otherwise errors only
    (not its notice that local authorizers may differ from AWS's, printed on every start), and never the
    line it logs for each refused token."""
    logging.getLogger("samcli").setLevel(logging.WARNING if verbose else logging.ERROR)
    logging.getLogger("samcli.local.apigw.local_apigw_service").addFilter(_RefusedTokenNotice())


class _RequestLine(WSGIRequestHandler):
    """One plain line per request on the console: method, path, status."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        sys.stderr.write(f"{self.command} {self.path} -> {code}\n")

    def log_message(self, format: str, *args: Any) -> None:
        sys.stderr.write(f"{format % args}\n")


def serve_forever(service: GatewayService, listening: socket.socket) -> None:
    """SAM's `run`, on a socket bound beforehand: a werkzeug threaded server, SIGTERM raising SAM's
    ProcessSigTermException. Blocks; it installs a signal handler, so it runs in the main thread."""
    from samcli.local.docker.exceptions import ProcessSigTermException
    from werkzeug.serving import make_server

    server = make_server(
        service.host,
        service.port,
        service._app,  # noqa: SLF001 - SAM's service keeps its Flask app private
        threaded=True,
        request_handler=_RequestLine,
        fd=listening.fileno(),
    )
    listening.close()  # the server holds its own duplicate of the socket

    def interrupt(signum: int, frame: Any) -> None:
        raise ProcessSigTermException()

    signal.signal(signal.SIGTERM, interrupt)
    try:
        server.serve_forever()
    finally:
        server.server_close()
