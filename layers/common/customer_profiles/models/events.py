"""Domain events: what downstream consumers are told (published by `edge.events`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

EVENT_SOURCE = "customer-profiles"


@dataclass(frozen=True)
class DomainEvent:
    detail_type: str
    detail: dict[str, Any]
