"""How an API function declares a route, in one call: its documented answers (its successes and every error
in the one error shape), its security requirement, its tag and its operation id (the route function's name),
traced. Every route of the APIs is declared through `Routes`, so the OpenAPI document lists them alike."""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus
from typing import Any, Protocol

from aws_lambda_powertools.event_handler import APIGatewayRestResolver

from customer_profiles.models.api import ErrorResponse

RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before retrying", "schema": {"type": "integer"}}}
# Declared on every route, so the OpenAPI document lists each error answer with its one shape.
ERROR_RESPONSES: dict[int, Any] = {
    code: {
        "description": HTTPStatus(code).phrase,
        "content": {"application/json": {"model": ErrorResponse}},
        **({"headers": RETRY_AFTER} if code == HTTPStatus.TOO_MANY_REQUESTS else {}),
    }
    for code in (400, 401, 403, 404, 405, 409, 410, 413, 415, 422, 429, 500, 503)
}
BEARER: list[dict[str, list[str]]] = [{"bearer": []}]  # the security requirement of every route behind the authorizer


def answers(success: dict[int, Any]) -> dict[int, Any]:
    """A route's documented answers: its success statuses (each with its model, or None for no body) and
    every error status."""
    documented = {
        status: {"description": HTTPStatus(status).phrase}
        | ({"content": {"application/json": {"model": model}}} if model else {})
        for status, model in success.items()
    }
    return {**documented, **ERROR_RESPONSES}


class Tracer(Protocol):
    def capture_method[F: Callable[..., Any]](self, method: F) -> F: ...


class Routes:
    """The routes of one API function: `@routes.get("/v1/me", {200: UserResponse})` above a function named
    after its use case. `success` maps each success status to its model (None: no body); `responses` replaces
    the documented answers entirely (a route with several media types)."""

    def __init__(
        self, app: APIGatewayRestResolver, tracer: Tracer, *, tag: str, security: list[dict[str, list[str]]] = BEARER
    ) -> None:
        self._app, self._tracer, self._tag, self._security = app, tracer, tag, security

    def get[F: Callable[..., Any]](self, path: str, success: dict[int, Any], **options: Any) -> Callable[[F], F]:
        return self._route("GET", path, success, **options)

    def post[F: Callable[..., Any]](self, path: str, success: dict[int, Any], **options: Any) -> Callable[[F], F]:
        return self._route("POST", path, success, **options)

    def put[F: Callable[..., Any]](self, path: str, success: dict[int, Any], **options: Any) -> Callable[[F], F]:
        return self._route("PUT", path, success, **options)

    def patch[F: Callable[..., Any]](self, path: str, success: dict[int, Any], **options: Any) -> Callable[[F], F]:
        return self._route("PATCH", path, success, **options)

    def delete[F: Callable[..., Any]](self, path: str, success: dict[int, Any], **options: Any) -> Callable[[F], F]:
        return self._route("DELETE", path, success, **options)

    def _route[F: Callable[..., Any]](
        self,
        method: str,
        path: str,
        success: dict[int, Any],
        *,
        description: str | None = None,
        responses: dict[int, Any] | None = None,
        security: list[dict[str, list[str]]] | None = None,
    ) -> Callable[[F], F]:
        def declare(function: F) -> F:
            return self._app.route(
                path,
                method,
                responses=responses or answers(success),
                security=self._security if security is None else security,
                description=description,
                operation_id=function.__name__,
                tags=[self._tag],
            )(self._tracer.capture_method(function))

        return declare
