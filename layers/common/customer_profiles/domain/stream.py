"""What the table's stream means for the domain: a new pending effect is work to complete; nothing else is.

Images arrive as plain Python values (`edge.stream_images` reads every shape DynamoDB sends).
"""

from __future__ import annotations

from typing import Any

from customer_profiles.data.codec import is_pending_item, pending_from_item
from customer_profiles.data.store import Store
from customer_profiles.domain import effects


def handle_change(store: Store, event_name: str, new: dict[str, Any] | None, publish: effects.Publish) -> bool:
    """Complete the pending effect a record announces; False for a record that asks for nothing (an update,
    a removal, any other item), which the linker counts and ignores."""
    if event_name != "INSERT" or not new or not is_pending_item(new):
        return False
    effects.complete(store, pending_from_item(new), publish)
    return True
