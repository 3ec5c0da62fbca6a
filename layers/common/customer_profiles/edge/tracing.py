"""Powertools' Tracer, made on first use, that sends X-Ray nothing a person could be found by.

Making a `Tracer` imports aws-xray-sdk, whose recorder builds a botocore session and an X-Ray client at
import: most of what importing boto3 and making a client costs (`make bench`), paid by every function at
import although the sampling client is never used in Lambda (Lambda samples). `LazyTracer` has the same
decorators and makes the Tracer when a decorated function first runs, or when the function's SnapStart
hook builds it before the snapshot (`snapstart.prepare`), so the import stays small and no request pays it.

What reaches X-Ray: segment names, timings, fault flags, the cold start and service annotations, the AWS
SDK's calls (operation, table, status: the SDK's own allow-list of parameters, never a key or an item) and
each exception's type and stack. Never a method's return value or error as metadata (Powertools' default:
an answer holds emails, names, receipt codes, whole exports), and never an exception's text (the SDK
records it whatever Powertools is told, and it may quote what a person typed). X-Ray keeps traces 30 days
and an erasure cannot reach them, so what is sent is decided here, in the one emitter every entity leaves
through (docs/decisions.md, section 13).
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aws_lambda_powertools import Tracer


def private_entity(entity: dict[str, Any]) -> dict[str, Any]:
    """A segment or subsegment as X-Ray may keep it: no metadata, and exceptions without their message."""
    kept = {name: value for name, value in entity.items() if name != "metadata"}
    cause = kept.get("cause")
    if isinstance(cause, dict):
        exceptions = [
            {name: value for name, value in exception.items() if name != "message"}
            for exception in cause.get("exceptions", [])
            if isinstance(exception, dict)
        ]
        kept["cause"] = {**cause, "exceptions": exceptions}
    if isinstance(kept.get("subsegments"), list):
        kept["subsegments"] = [private_entity(s) for s in kept["subsegments"] if isinstance(s, dict)]
    return kept


def private_emitter() -> Any:
    """The X-Ray SDK's UDP emitter, sending each entity through `private_entity` (made with the Tracer, so
    the SDK is imported only then)."""
    from aws_xray_sdk.core.emitters.udp_emitter import PROTOCOL_DELIMITER, PROTOCOL_HEADER, UDPEmitter

    class PrivateEmitter(UDPEmitter):
        def send_entity(self, entity: Any) -> None:
            try:
                document = json.dumps(private_entity(entity.to_dict()), default=str)
                self._send_data(f"{PROTOCOL_HEADER}{PROTOCOL_DELIMITER}{document}")
            except Exception:  # as the SDK's own emitter: a trace lost never fails the request
                logging.getLogger(__name__).warning("a trace entity was not sent")

    return PrivateEmitter()


@lru_cache(maxsize=1)
def powertools_tracer() -> Tracer:
    """The Tracer (a SnapStart factory: made before the snapshot, kept after a restore), its recorder sending
    through the private emitter."""
    from aws_lambda_powertools import Tracer

    tracer = Tracer()
    recorder: Any = tracer.provider  # the X-Ray SDK's recorder (Powertools types it as its base provider)
    if "aws_xray_sdk" in type(recorder).__module__:
        recorder.configure(emitter=private_emitter())  # keeps the daemon address Lambda gives
    return tracer


class LazyTracer:
    """Powertools' decorators, with response and error capture off whatever the environment says."""

    def capture_method[F: Callable[..., Any]](self, method: F) -> F:
        return self._decorated(
            method, lambda tracer: tracer.capture_method(capture_response=False, capture_error=False)(method)
        )

    def capture_lambda_handler[F: Callable[..., Any]](self, handler: F) -> F:
        return self._decorated(
            handler,
            lambda tracer: tracer.capture_lambda_handler(capture_response=False, capture_error=False)(handler),
        )

    def _decorated[F: Callable[..., Any]](self, function: F, decorate: Callable[[Tracer], Callable[..., Any]]) -> F:
        traced = lru_cache(maxsize=1)(lambda: decorate(powertools_tracer()))  # decorated on the first call

        @functools.wraps(function)
        def run(*args: Any, **kwargs: Any) -> Any:
            return traced()(*args, **kwargs)

        return run  # type: ignore[return-value]
