"""SnapStart runtime hooks: what a function builds and primes before Lambda snapshots it, and what it renews
after each restore.

With SnapStart, Lambda runs a published version's init once, snapshots its memory and restores that snapshot
in every new execution environment: whatever init built is shared by all of them. Each function calls
`prepare` once at import with the cached factories its requests use (its `store`, the tracer, the
authorizer's verifier) and what primes them, so its hooks are stated where it is defined:

- before the snapshot, each factory is called and each primer run: the store sends one GetItem answered
  in-process (botocore builds its per-client request paths on a first call) and the resolver serves one
  request answered 401, so the first request after a restore builds nothing. Nothing that can change is
  fetched (no JWKS, no secret: read at request time) and no connection is opened, so none goes stale.
- after a restore, `random` is reseeded: every environment restored from one snapshot would otherwise draw
  the same numbers (the retries' jitter, Powertools' log sampling). The clients are kept: they hold no
  connection, and under SnapStart Lambda gives credentials through the container credentials provider,
  which boto3 refreshes (AWS's SnapStart documentation), so nothing in them must be unique.

The Lambda Python runtimes include `snapshot_restore_py` (requirements-dev.txt pins it for the tests and the
local runtime, whose worker runs the same hooks when a function has SnapStart).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any, Protocol

try:
    from snapshot_restore_py import register_after_restore, register_before_snapshot
except ImportError:  # a tool importing a handler outside Lambda and the dev tools: nothing runs the hooks

    def register_before_snapshot(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Callable[..., Any]:
        return func

    register_after_restore = register_before_snapshot


# A function's cached constructor, such as its `store()`: called once here, its result kept.
CachedFactory = Callable[[], object]


class Resolver(Protocol):
    def resolve(self, event: dict[str, Any], context: Any) -> dict[str, Any]: ...


def prepare(*factories: CachedFactory, primers: tuple[Callable[[], object], ...] = ()) -> None:
    """Build `factories` and run `primers` before the snapshot; reseed `random` after each restore."""
    register_before_snapshot(build, factories, primers)
    register_after_restore(renew)


def build(factories: tuple[CachedFactory, ...], primers: tuple[Callable[[], object], ...] = ()) -> None:
    for factory in factories:
        factory()
    for primer in primers:
        primer()


def renew() -> None:
    random.seed()


def unauthenticated_request(app: Resolver, method: str, path: str) -> Callable[[], object]:
    """A request without a principal through the function's resolver, answered 401 before anything is read.
    Powertools builds its route matching, validation and serialization paths on the first request it serves:
    run before the snapshot, that first request is not the first real one after every restore."""
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
    return lambda: app.resolve(event, None)
