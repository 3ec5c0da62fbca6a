"""SnapStart runtime hooks: what a function builds before Lambda snapshots it, and renews after each restore.

With SnapStart, Lambda runs a published version's init once, snapshots its memory and restores that snapshot
in every new execution environment: whatever init built is shared by all of them. Each function calls
`prepare` once at import with the cached factories its requests use (its `store`, the authorizer's
verifier), so its hooks are stated where it is defined:

- before the snapshot, each factory is called: boto3's service models and our objects are in the snapshot,
  and the first request after a restore builds nothing. Nothing that can change is fetched (no JWKS, no
  secret): those are read at request time, in the restored environment.
- after a restore, `random` is reseeded and each factory is cleared and called again: new boto3 clients, so
  no connection pool or credentials cached at snapshot time are reused across environments.

The Lambda Python runtimes include `snapshot_restore_py` (requirements-dev.txt pins it for the tests and the
local runtime, whose worker runs the same hooks when a function has SnapStart).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any, Protocol

try:
    from snapshot_restore_py import register_after_restore, register_before_snapshot
except ImportError:  # a tool importing a handler outside Lambda and the dev tools: registered, never run
    _registered: list[tuple[Callable[..., Any], tuple[Any, ...]]] = []

    def register_before_snapshot(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Callable[..., Any]:
        _registered.append((func, args))
        return func

    def register_after_restore(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Callable[..., Any]:
        _registered.append((func, args))
        return func


class CachedFactory(Protocol):
    """A function's `functools.lru_cache`d constructor, such as its `store()`."""

    def __call__(self) -> object: ...

    def cache_clear(self) -> None: ...


class Resolver(Protocol):
    def resolve(self, event: dict[str, Any], context: Any) -> dict[str, Any]: ...


def prepare(*factories: CachedFactory, prime: Callable[[], object] | None = None) -> None:
    """Build `factories` (and run `prime`) before the snapshot, and build them anew after each restore."""
    register_before_snapshot(build, factories, prime)
    register_after_restore(renew, factories)


def build(factories: tuple[CachedFactory, ...], prime: Callable[[], object] | None = None) -> None:
    for factory in factories:
        factory()
    if prime:
        prime()


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


def renew(factories: tuple[CachedFactory, ...]) -> None:
    # Every environment restored from one snapshot starts with the same `random` state: the retries' jitter
    # (customer_profiles.retry) and Powertools' log sampling would draw the same numbers everywhere.
    random.seed()
    # A client built before the snapshot is shared by every restored environment: a fresh one opens its own
    # connections and resolves credentials here. boto3's default session keeps its service models loaded, so
    # this costs a fraction of the init the snapshot saves.
    for factory in factories:
        factory.cache_clear()
        factory()
