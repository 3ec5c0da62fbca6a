"""Counting the DynamoDB requests an action sends through a store (a botocore `before-call` hook)."""

from collections import Counter
from collections.abc import Callable
from typing import Any


def requests_of(store: Any, action: Callable[[], object]) -> Counter[str]:
    """The DynamoDB operations `action` sends through `store`'s client, by name."""
    counter: Counter[str] = Counter()

    def count(model: object, **_: object) -> None:
        counter.update([getattr(model, "name", "?")])

    store.db.client.meta.events.register("before-call.dynamodb.*", count)
    try:
        action()
    finally:
        store.db.client.meta.events.unregister("before-call.dynamodb.*", count)
    return counter
