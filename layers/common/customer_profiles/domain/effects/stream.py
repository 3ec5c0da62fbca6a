"""What the table's stream means for the domain: a new pending effect is work to complete, a change of a
profile, its orders, entitlements and consents, a claim, a user or an org's settings may be on activity
trails, and a change of a sale, its holder, its receipt or a claim may change the identification report's
tallies (each written now, or left as a pending effect when that fails).

Images arrive as plain Python values (`edge.stream_images` reads every shape DynamoDB sends).
"""

from __future__ import annotations

from typing import Any

from customer_profiles.clock import utc_now
from customer_profiles.data.codec import is_pending_item, pending_from_item
from customer_profiles.data.store import Store
from customer_profiles.domain.effects import activity, effects
from customer_profiles.domain.staff import report


def handle_change(store: Store, event_name: str, new: dict[str, Any] | None, publish: effects.Publish) -> bool:
    """Complete the pending effect a record announces; False for a record that asks for nothing (an update,
    a removal, any other item), which the linker counts and ignores."""
    if event_name != "INSERT" or not new or not is_pending_item(new):
        return False
    effects.complete(store, pending_from_item(new), publish)
    return True


def record_activity(
    store: Store,
    record_id: str,
    event_name: str,
    old: dict[str, Any] | None,
    new: dict[str, Any] | None,
    *,
    record_time: str,
) -> activity.Recorded:
    """The activity entries the record implies, each written once whatever the redeliveries, or left pending
    when writing them fails (raises only if that fails too)."""
    return activity.record_activity(store, record_id, event_name, old, new, record_time=record_time, now=utc_now())


def record_tallies(
    store: Store, record_id: str, event_name: str, old: dict[str, Any] | None, new: dict[str, Any] | None
) -> activity.Recorded:
    """The report's tallies the record touches, re-derived from the items as they are (domain.staff.report), or
    left pending when that fails (raises only if that fails too)."""
    return report.record_tallies(store, record_id, event_name, old, new, now=utc_now())
