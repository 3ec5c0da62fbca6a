"""Publishing domain events: EventBridge in AWS, a JSON-lines file in the local runtime."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Protocol

from customer_profiles.edge.config import EffectSettings, LocalAdapters, settings
from customer_profiles.models.events import EVENT_SOURCE, DomainEvent


class EventPublisher(Protocol):
    def publish(self, events: list[DomainEvent]) -> None: ...


class EventBridgePublisher:
    def __init__(self, bus_name: str, client: Any | None = None) -> None:
        self._bus_name = bus_name
        if client is None:
            import boto3  # on first use: see data.table.KeyCondition

            client = boto3.client("events")
        self._client = client

    def publish(self, events: list[DomainEvent]) -> None:
        for start in range(0, len(events), 10):  # PutEvents takes at most 10 entries
            entries = [
                {
                    "Source": EVENT_SOURCE,
                    "DetailType": e.detail_type,
                    "Detail": json.dumps(e.detail, default=str),
                    "EventBusName": self._bus_name,
                }
                for e in events[start : start + 10]
            ]
            response = self._client.put_events(Entries=entries)
            if response.get("FailedEntryCount"):
                raise RuntimeError(f"EventBridge refused {response['FailedEntryCount']} events")


class FileSinkPublisher:
    """The local runtime's stand-in for EventBridge: one JSON object per line."""

    _lock = threading.Lock()

    def __init__(self, path: str) -> None:
        self._path = path

    def publish(self, events: list[DomainEvent]) -> None:
        now = datetime.now(UTC).isoformat()
        lines = "".join(
            json.dumps(
                {"source": EVENT_SOURCE, "detail-type": e.detail_type, "time": now, "detail": e.detail}, default=str
            )
            + "\n"
            for e in events
        )
        with self._lock, open(self._path, "a", encoding="utf-8") as sink:
            sink.write(lines)


@lru_cache(maxsize=1)
def default_publisher() -> EventPublisher:
    local = settings(LocalAdapters).local_event_sink
    if local:
        return FileSinkPublisher(local)
    bus_name = settings(EffectSettings).event_bus_name
    if not bus_name:
        raise RuntimeError("EVENT_BUS_NAME is not set")
    return EventBridgePublisher(bus_name)
