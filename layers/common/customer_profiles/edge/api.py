"""An API function's parts, made one way: its settings read at import (a missing variable fails the cold
start, naming it), its logger, tracer and metrics, its resolver and routes, its store, its Lambda handler and
its SnapStart hooks. A function module declares its routes on `route` and names the rest."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.logging import correlation_paths

from customer_profiles.edge import snapstart
from customer_profiles.edge.config import settings
from customer_profiles.edge.http import create_resolver
from customer_profiles.edge.logs import masked_logger
from customer_profiles.edge.routes import BEARER, Routes
from customer_profiles.edge.stores import TableSettings, store_factory
from customer_profiles.edge.tracing import LazyTracer, powertools_tracer


class ApiFunction[S: TableSettings]:
    def __init__(self, kind: type[S], *, tag: str, security: list[dict[str, list[str]]] = BEARER) -> None:
        self.kind = kind
        self.settings()
        self.logger = masked_logger()
        self.tracer = LazyTracer()
        self.metrics = Metrics()
        self.app = create_resolver()
        self.route = Routes(self.app, self.tracer, tag=tag, security=security)
        self.store = store_factory(self.settings)

        @self.logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
        @self.tracer.capture_lambda_handler
        @self.metrics.log_metrics
        def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
            return self.app.resolve(event, context)

        self.handler = handler

    def settings(self) -> S:
        return settings(self.kind)

    def prepare_snapshot(self, unauthenticated: tuple[str, str] | None = None) -> None:
        """Built and primed into the snapshot: the store (one GetItem answered in-process), the tracer and,
        given a (method, path), the handler (that request answered 401). Secrets are read at request time,
        never kept in the snapshot."""
        request = (snapstart.unauthenticated_request(self.handler, *unauthenticated),) if unauthenticated else ()
        snapstart.prepare(
            self.store,
            powertools_tracer,
            primers=(lambda: self.store().prime(), *request),
            reconnect=(lambda: self.store().connect(),),
        )
