"""Retrying what lost a race: jittered exponential backoff, for concurrent writes and unprocessed reads.

Hand-written (15 lines) rather than tenacity: tenacity imports asyncio at import time, a cold-start cost
every function would pay for one loop.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

from customer_profiles.errors import ConcurrentWrite, Throttled, TryAgain

ATTEMPTS = 3


def backoff(attempt: int, *, base: float = 0.02, cap: float = 1.0) -> float:
    """Full-jitter exponential backoff (AWS's recommendation): a random wait up to base * 2^attempt."""
    return random.uniform(0, min(cap, base * 2**attempt))  # noqa: S311 - jitter, not a secret


def on_concurrent_write[T](
    attempt: Callable[[], T], *, give_up: str, attempts: int = ATTEMPTS, sleep: Callable[[float], None] = time.sleep
) -> T:
    """Run `attempt` (which reads afresh each time) until no concurrent write beats it; then `TryAgain`
    (503) with `give_up` as the message, or `Throttled` (429) when DynamoDB throttled the last attempt.
    Permanent conflicts (`StateConflict`) are never retried."""
    for number in range(attempts):
        try:
            return attempt()
        except ConcurrentWrite as error:
            if number + 1 < attempts:
                sleep(backoff(number))
            elif getattr(error, "throttled", False):
                raise Throttled("the service is under more load than it takes; retry shortly") from error
    raise TryAgain(give_up)
