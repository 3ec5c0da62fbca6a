"""What the table's stream means for the domain: a new pending effect is work to complete, a change of a
profile, its orders, entitlements and consents, a claim, a user or an org's settings may be on activity
trails, and a change of a sale, its holder, its receipt or a claim may change the identification report's
tallies (each written now, or left as a pending effect when that fails).

Each record arrives read once, as a typed change (`ports.effects.StreamRecord`, read by `data.changes`).
"""

from __future__ import annotations

from customer_profiles.clock import utc_now
from customer_profiles.domain.effects import activity, effects, tallies
from customer_profiles.ports.effects import (
    ActivityWrites,
    ClaimLinks,
    PendingEffectAdded,
    StreamChange,
    StreamRecord,
    TallyWrites,
)


def handle_change(
    store: effects.EffectStore, change: StreamChange, publish: effects.Publish, *, links: ClaimLinks | None = None
) -> bool:
    """Complete the pending effect a change adds; False for a change that asks for nothing (an update, a
    removal, any other item), which the linker counts and ignores."""
    if not isinstance(change, PendingEffectAdded):
        return False
    effects.complete(store, change.effect, publish, links=links)
    return True


def record_activity(store: ActivityWrites, record: StreamRecord) -> activity.Recorded:
    """The activity entries the record implies, each written once whatever the redeliveries, or left pending
    when writing them fails (raises only if that fails too)."""
    return activity.record_activity(store, record, now=utc_now())


def record_tallies(store: TallyWrites, record: StreamRecord) -> activity.Recorded:
    """The report's tallies the record touches, re-derived from the items as they are, or left pending when
    that fails (raises only if that fails too)."""
    return tallies.record_tallies(store, record, now=utc_now())
