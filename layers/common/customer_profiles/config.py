"""Configuration read once from the environment, at the edge, into typed settings."""

from __future__ import annotations

import os
from functools import lru_cache

from pydantic import BaseModel


class Settings(BaseModel):
    table_name: str
    idempotency_table_name: str | None = None
    event_bus_name: str | None = None
    local_event_sink: str | None = None
    claim_expiry_days: int = 30
    claim_url_base: str = "https://example.invalid/claim/"


@lru_cache(maxsize=1)
def settings() -> Settings:
    return Settings(
        table_name=os.environ.get("TABLE_NAME", ""),
        idempotency_table_name=os.environ.get("IDEMPOTENCY_TABLE_NAME"),
        event_bus_name=os.environ.get("EVENT_BUS_NAME"),
        local_event_sink=os.environ.get("LOCAL_EVENT_SINK"),
        claim_expiry_days=int(os.environ.get("CLAIM_EXPIRY_DAYS", "30")),
        claim_url_base=os.environ.get("CLAIM_URL_BASE", "https://example.invalid/claim/"),
    )
