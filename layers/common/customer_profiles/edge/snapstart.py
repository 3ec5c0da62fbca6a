"""SnapStart runtime hooks: what a function builds and primes before Lambda snapshots it, and what it renews
after each restore.

With SnapStart, Lambda runs a published version's init once, snapshots its memory and restores that snapshot
in every new execution environment: whatever init built is shared by all of them. Each function calls
`prepare` once at import with the cached factories its requests use (its `store`, the tracer, the
authorizer's verifier) and what primes them, so its hooks are stated where it is defined:

- before the snapshot, each factory is called and each primer run: the store sends one GetItem answered
  in-process (botocore builds its per-client request paths on a first call) and the handler serves one
  request answered 401 (its Powertools decorators and resolver run once), so the first request after a
  restore builds nothing. Nothing that can change is
  fetched (no JWKS, no secret: read at request time) and no connection is opened, so none goes stale.
- after a restore, `random` is reseeded: every environment restored from one snapshot would otherwise draw
  the same numbers (the retries' jitter, Powertools' log sampling). The clients are kept: they hold no
  connection, and under SnapStart Lambda gives credentials through the container credentials provider,
  which boto3 refreshes (AWS's SnapStart documentation), so nothing in them must be unique. Then each
  store opens its connection (`reconnect`: one eventually consistent GetItem of a key nothing has), as
  AWS advises after-restore hooks to, so the first request finds it open; if that fails, the first
  request opens it itself.

The Lambda Python runtimes include `snapshot_restore_py` (requirements-dev.txt pins it for the tests and the
local runtime, whose worker runs the same hooks when a function has SnapStart).
"""

from __future__ import annotations

import logging
import os
import random
import sys
from collections.abc import Callable
from typing import Any

try:
    from snapshot_restore_py import register_after_restore, register_before_snapshot
except ImportError:  # a tool importing a handler outside Lambda and the dev tools: nothing runs the hooks

    def register_before_snapshot(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Callable[..., Any]:
        return func

    register_after_restore = register_before_snapshot


# A function's cached constructor, such as its `store()`: called once here, its result kept.
CachedFactory = Callable[[], object]


# A function's Lambda handler, decorated as Lambda calls it.
Handler = Callable[[dict[str, Any], Any], dict[str, Any]]

# Where Powertools keeps "is this the environment's first invocation" (Logger's `cold_start` key, Tracer's
# `ColdStart` annotation, Metrics' ColdStart metric): a primed request must not spend it.
COLD_START_FLAGS = (
    "aws_lambda_powertools.logging.logger",
    "aws_lambda_powertools.tracing.tracer",
    "aws_lambda_powertools.metrics.provider.cold_start",
)


def prepare(
    *factories: CachedFactory,
    primers: tuple[Callable[[], object], ...] = (),
    reconnect: tuple[Callable[[], object], ...] = (),
) -> None:
    """Build `factories` and run `primers` before the snapshot; after each restore, reseed `random` and
    open the connections `reconnect` names."""
    register_before_snapshot(build, factories, primers)
    register_after_restore(renew, reconnect)


def build(factories: tuple[CachedFactory, ...], primers: tuple[Callable[[], object], ...] = ()) -> None:
    for factory in factories:
        factory()
    for primer in primers:
        primer()


def renew(reconnect: tuple[Callable[[], object], ...] = ()) -> None:
    """After a restore: a seed of this environment's own, and fresh connections (AWS's advice for
    after-restore hooks), so the first request does not open one. A failure here costs nothing but that:
    the first request opens its connection itself."""
    random.seed()
    for connect in reconnect:
        try:
            connect()
        except Exception:  # whatever fails, the request will connect (and report it) on its own
            logging.getLogger(__name__).warning("could not open a connection after the restore", exc_info=True)


def unauthenticated_request(handler: Handler, method: str, path: str) -> Callable[[], dict[str, Any]]:
    """A request without a principal through the function's handler, answered 401 before anything is read.
    Powertools builds its decorators' state and its route matching, validation and serialization paths on the
    first request it serves: run before the snapshot, that first request is not the first real one after every
    restore. Powertools' cold-start flags are put back, so the first real request still reports its cold
    start."""
    context = {"httpMethod": method, "path": path, "resourcePath": path, "requestId": "snapshot", "identity": {}}
    event = {
        "httpMethod": method,
        "path": path,
        "resource": path,
        "headers": {},
        "multiValueHeaders": {},
        "queryStringParameters": None,
        "pathParameters": None,
        "requestContext": context,
        "body": None,
        "isBase64Encoded": False,
    }

    def request() -> dict[str, Any]:
        flags = {name: module.is_cold_start for name in COLD_START_FLAGS if (module := sys.modules.get(name))}
        try:
            return handler(event, SnapshotContext())
        finally:
            for name, flag in flags.items():
                sys.modules[name].is_cold_start = flag  # type: ignore[attr-defined]

    return request


class SnapshotContext:
    """The Lambda context of the primed request (Powertools' Logger reads these)."""

    function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "snapshot")
    function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
    memory_limit_in_mb = int(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"))
    invoked_function_arn = f"arn:aws:lambda:us-east-1:000000000000:function:{function_name}"
    aws_request_id = "snapshot"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000
