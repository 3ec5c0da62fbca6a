"""What the table's stream means for the domain: stream records in, domain events out.

Pure functions over the records' images (already plain Python values): no AWS types here.
"""

from __future__ import annotations

from typing import Any

from customer_profiles.dal import is_user_item, user_from_item
from customer_profiles.events import DomainEvent


def events_for_change(event_name: str, old: dict[str, Any] | None, new: dict[str, Any] | None) -> list[DomainEvent]:
    if event_name == "INSERT" and new and is_user_item(new):
        user = user_from_item(new)
        if user.status == "active":
            return [DomainEvent("UserRegistered", {"user_id": user.user_id, "created_at": user.created_at})]
    return []
