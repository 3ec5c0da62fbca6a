"""The HTTP edge shared by every API function: one resolver factory, and the one place that turns
errors into JSON responses. Handlers never build error responses themselves."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, CORSConfig, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from botocore.exceptions import ClientError

from customer_profiles.edge.logs import forget_personal, masked_logger, remember_personal
from customer_profiles.errors import (
    Conflict,
    DomainError,
    Forbidden,
    Gone,
    InvalidInput,
    MissingIdempotencyKey,
    NotFound,
    Throttled,
    TryAgain,
    Unauthenticated,
)
from customer_profiles.models.principal import InvalidToken, Principal

logger = masked_logger()

MAX_BODY_BYTES = 64 * 1024
MAX_JSON_DEPTH = 32  # our deepest request nests 4; Python's parser recurses, so depth is bounded before it runs
JSON_TYPES = ("application/json",)
STATUS_OF: dict[type[DomainError], HTTPStatus] = {
    NotFound: HTTPStatus.NOT_FOUND,
    Forbidden: HTTPStatus.FORBIDDEN,
    Conflict: HTTPStatus.CONFLICT,
    InvalidInput: HTTPStatus.UNPROCESSABLE_ENTITY,
    MissingIdempotencyKey: HTTPStatus.BAD_REQUEST,
    Unauthenticated: HTTPStatus.UNAUTHORIZED,
    Gone: HTTPStatus.GONE,
    TryAgain: HTTPStatus.SERVICE_UNAVAILABLE,
    Throttled: HTTPStatus.TOO_MANY_REQUESTS,
}
# DynamoDB's answers to overload (after boto3's own retries): the client is told to slow down, never a 5xx.
THROTTLING_CODES = frozenset(
    {"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded", "LimitExceededException"}
)


def error_response(status: HTTPStatus, code: str, message: str, **extra: Any) -> Response:
    body: dict[str, Any] = {"code": code, "message": message}
    body.update({k: v for k, v in extra.items() if v is not None})
    return Response(status_code=status.value, content_type=content_types.APPLICATION_JSON, body={"error": body})


def principal_of(app: APIGatewayRestResolver) -> Principal:
    return Principal.from_context(app.current_event.request_context.authorizer.raw_event or {})


class RequestRefused(Exception):
    def __init__(self, status: HTTPStatus, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def json_nesting_depth(text: str) -> int:
    """The deepest nesting of arrays and objects in `text`, strings skipped; linear and without recursion.
    Hand-written: the standard parser is what must not see a 20 KB run of `[` (it recurses, then fails)."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def check_request_body(event: dict[str, Any]) -> None:
    """What every route requires of a body, before any parsing or validation: at most MAX_BODY_BYTES of
    UTF-8 JSON (application/json), nested at most MAX_JSON_DEPTH deep, and well-formed. Decodes a base64 body
    in place (API Gateway sends one for binary media types), so the handlers see text."""
    raw = event.get("body") or ""
    if event.get("isBase64Encoded") and raw:
        try:
            data = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            raise RequestRefused(HTTPStatus.BAD_REQUEST, "invalid_body", "the body is not valid base64") from None
    else:
        data = raw.encode("utf-8", "surrogatepass")
    if len(data) > MAX_BODY_BYTES:
        raise RequestRefused(
            HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "body_too_large", f"the body is over {MAX_BODY_BYTES} bytes"
        )
    if not data:
        return
    headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
    media_type, _, parameters = headers.get("content-type", "").partition(";")
    charset = next((p.split("=", 1)[1].strip().strip('"').lower() for p in parameters.split(";") if "=" in p), "utf-8")
    if media_type.strip().lower() not in JSON_TYPES or charset not in ("utf-8", "utf8"):
        raise RequestRefused(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", "send application/json")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise RequestRefused(
            HTTPStatus.UNPROCESSABLE_ENTITY, "invalid_json", "the body is not UTF-8 encoded JSON"
        ) from None
    if json_nesting_depth(text) > MAX_JSON_DEPTH:
        raise RequestRefused(
            HTTPStatus.UNPROCESSABLE_ENTITY, "invalid_json", f"the body nests deeper than {MAX_JSON_DEPTH} levels"
        )
    try:
        json.loads(text)
    except ValueError as error:
        message = f"the body is not valid JSON ({error.msg if isinstance(error, json.JSONDecodeError) else error})"
        raise RequestRefused(HTTPStatus.UNPROCESSABLE_ENTITY, "invalid_json", message) from None
    event["body"], event["isBase64Encoded"] = text, False


class GuardedResolver(APIGatewayRestResolver):
    """Powertools' REST resolver, with every body checked before Powertools parses or validates it."""

    def resolve(self, event: Mapping[str, Any], context: Any) -> dict[str, Any]:
        event = dict(event)
        try:
            check_request_body(event)
        except RequestRefused as refused:
            body = {"error": {"code": refused.code, "message": refused.message}}
            return {
                "statusCode": refused.status.value,
                "multiValueHeaders": {"Content-Type": ["application/json"], "Access-Control-Allow-Origin": ["*"]},
                "body": json.dumps(body),
                "isBase64Encoded": False,
            }
        return super().resolve(event, context)


def create_resolver() -> APIGatewayRestResolver:
    # Browsers read our answers (errors too) only with CORS headers; API Gateway answers the preflight.
    cors = CORSConfig(allow_origin="*", allow_headers=["Authorization", "Content-Type", "Idempotency-Key"])
    app = GuardedResolver(enable_validation=True, response_validation_error_http_code=500, cors=cors)
    app.use(middlewares=[forget_and_remember])
    answer_errors(app)
    return app


def forget_and_remember(app: APIGatewayRestResolver, next_middleware: NextMiddleware) -> Response:
    event = app.current_event
    forget_personal()  # what this request holds is masked in every log line it leads to
    remember_personal(
        {
            "body": event.body,
            "principal": event.request_context.authorizer.raw_event,
            "pathParameters": event.path_parameters,  # a claim token, a receipt code
        }
    )
    return next_middleware(app)


def answer_errors(app: APIGatewayRestResolver) -> None:
    """The one place errors become responses: each in the one JSON error shape."""

    @app.exception_handler(DomainError)
    def domain_error(error: DomainError) -> Response:
        status = next((STATUS_OF[c] for c in type(error).__mro__ if c in STATUS_OF), HTTPStatus.BAD_REQUEST)
        response = error_response(status, error.code, error.message, field=error.field)
        if isinstance(error, Throttled):
            response.headers["Retry-After"] = str(error.retry_after_seconds)
        return response

    @app.exception_handler(ClientError)
    def aws_error(error: ClientError) -> Response:
        if error.response.get("Error", {}).get("Code") in THROTTLING_CODES:
            logger.warning("throttled", extra={"operation": error.operation_name})
            return domain_error(Throttled("the service is under more load than it takes; retry shortly"))
        return unexpected(error)

    @app.exception_handler(InvalidToken)
    def no_principal(error: InvalidToken) -> Response:
        return error_response(HTTPStatus.UNAUTHORIZED, "unauthorized", "a valid bearer token is required")

    @app.exception_handler(RequestUnsupportedContentType)
    def unsupported_media_type(error: RequestUnsupportedContentType) -> Response:
        # An empty body under another media type, on a route that takes one (bodies are refused earlier).
        return error_response(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", "send application/json")

    @app.exception_handler(RequestValidationError)
    def invalid_request(error: RequestValidationError) -> Response:
        details = [
            {"field": ".".join(str(p) for p in e.get("loc", ()) if p != "body"), "message": e.get("msg", "")}
            for e in error.errors()
        ]
        return error_response(
            HTTPStatus.UNPROCESSABLE_ENTITY, "invalid_request", "the request is not valid", details=details
        )

    @app.not_found
    def no_route(error: NotFoundError) -> Response:
        # API Gateway only sends paths the template declares; a path our routes know with another
        # method is a 405. Powertools keeps routes in private lists, read here for the Allow header.
        path = app.current_event.path
        routes = app._static_routes + app._dynamic_routes  # noqa: SLF001
        allowed = sorted({r.method for r in routes if r.rule.match(path)})
        if allowed:
            response = error_response(HTTPStatus.METHOD_NOT_ALLOWED, "method_not_allowed", "method not allowed")
            response.headers["Allow"] = ", ".join(allowed)
            return response
        return error_response(HTTPStatus.NOT_FOUND, "not_found", "no such route")

    @app.exception_handler(Exception)
    def unexpected(error: Exception) -> Response:
        logger.exception("unhandled error")
        return error_response(HTTPStatus.INTERNAL_SERVER_ERROR, "internal_error", "something went wrong on our side")
