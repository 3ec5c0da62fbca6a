"""The one way a function makes its store: from its settings' table names, once per process (a SnapStart
factory: made before the snapshot, reconnected after a restore)."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from functools import _lru_cache_wrapper

    from customer_profiles.data.store import Store


class TableSettings(Protocol):
    @property
    def table_name(self) -> str: ...


def store_factory(settings: Callable[[], TableSettings]) -> _lru_cache_wrapper[Store]:
    """A function's store, cached (`cache_clear` makes the next call build another). With the idempotency
    table when the settings name one (the functions whose writes answer retries, or delete those answers), and
    the lineage retention when they set one (the functions that move sales and profiles)."""

    @lru_cache(maxsize=1)
    def store() -> Store:
        # Imported on the first call: the authorizer's import stays small (no pydantic models, no boto3) and
        # most of its answers come from API Gateway's cache.
        from customer_profiles.data.store import Store

        config = settings()
        return Store(
            config.table_name,
            requests_table=getattr(config, "idempotency_table_name", ""),
            lineage_days=getattr(config, "lineage_retention_days", 180),
        )

    return store
