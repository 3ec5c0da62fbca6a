"""Powertools' Tracer, made on first use.

Making a `Tracer` imports aws-xray-sdk, whose recorder builds a botocore session and an X-Ray client at
import: most of what importing boto3 and making a client costs (`make bench`), paid by every function at
import although the sampling client is never used in Lambda (Lambda samples). `LazyTracer` has the same
decorators and makes the Tracer when a decorated function first runs, or when the function's SnapStart
hook builds it before the snapshot (`snapstart.prepare`), so the import stays small and no request pays it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aws_lambda_powertools import Tracer


@lru_cache(maxsize=1)
def powertools_tracer() -> Tracer:
    """The Tracer (a SnapStart factory: made before the snapshot, kept after a restore)."""
    from aws_lambda_powertools import Tracer

    return Tracer()


class LazyTracer:
    def capture_method[F: Callable[..., Any]](self, method: F) -> F:
        return self._decorated(method, lambda tracer: tracer.capture_method(method))

    def capture_lambda_handler[F: Callable[..., Any]](self, handler: F) -> F:
        return self._decorated(handler, lambda tracer: tracer.capture_lambda_handler(handler))

    def _decorated[F: Callable[..., Any]](self, function: F, decorate: Callable[[Tracer], Callable[..., Any]]) -> F:
        traced = lru_cache(maxsize=1)(lambda: decorate(powertools_tracer()))  # decorated on the first call

        @functools.wraps(function)
        def run(*args: Any, **kwargs: Any) -> Any:
            return traced()(*args, **kwargs)

        return run  # type: ignore[return-value]
