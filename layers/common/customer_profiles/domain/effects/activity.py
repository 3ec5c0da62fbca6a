"""A profile's activity trail: writing the entries a stream change implies (`trail.activity_of_change`), once
per record whatever the redeliveries, and the staff's view of the trails.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from customer_profiles.domain.effects.trail import (
    Derived,
    OrgActivity,
    ProfileActivity,
    UserActivity,
    activity_of_change,
)
from customer_profiles.domain.staff.access import require_staff_of
from customer_profiles.errors import NotFound
from customer_profiles.models.activity import ActivityEntry
from customer_profiles.models.api import ProfileActivityResponse
from customer_profiles.models.domain import PendingEffect
from customer_profiles.models.principal import Principal
from customer_profiles.ports.effects import ActivityReads, ActivityWrites, StreamRecord

READERS = frozenset({"viewer", "admin", "pos"})


@dataclass(frozen=True)
class Recorded:
    """What became of a stream record's entries: how many were written, or the error that deferred them to
    a pending effect (None when written)."""

    written: int = 0
    deferred: Exception | None = None


def record_activity(store: ActivityWrites, record: StreamRecord, *, now: str) -> Recorded:
    """Write the entries a stream record implies, each once however often the record comes (its key is the
    record's id). When writing them fails, they are written down as a `record_activity` pending effect
    instead (one PutItem, only derived entries: no personal value), which the stream, a re-drive or the
    sweep completes like any other, so an entry outlives the stream's 24 hours. Raises only when that
    write fails too: the record is reported failed and comes again."""
    derived = activity_of_change(record.change, record_time=record.record_time)
    if not derived:
        return Recorded()
    try:
        return Recorded(written=write_activity(store, record.record_id, derived))
    except Exception as error:  # whatever failed (throttling, a user's profiles unread...), the entries wait
        store.put_pending(deferred_activity(record.record_id, derived, now))
        return Recorded(deferred=error)


def write_activity(store: ActivityWrites, record_id: str, derived: Sequence[Derived]) -> int:
    """Write a record's entries, each once (PutItem `attribute_not_exists` on a key made of the record's id);
    how many were new. A user's entries go on each of its profiles (strongly consistent read of its own
    partition)."""
    entries: list[ProfileActivity] = []
    written = 0
    for found in derived:
        if isinstance(found, UserActivity):
            profiles = store.all_profiles_of_user(found.user_id)
            entries += [ProfileActivity(p.org_id, p.profile_id, found.entry) for p in profiles]
        elif isinstance(found, OrgActivity):
            written += store.add_org_activity(record_id, [(found.org_id, found.entry)])
        else:
            entries.append(found)
    if not entries:
        return written
    return written + store.add_activity(record_id, [(e.org_id, e.profile_id, e.entry) for e in entries])


def deferred_activity(record_id: str, derived: Sequence[Derived], now: str) -> PendingEffect:
    """The pending effect holding a record's entries, one per record (its id is the record's)."""
    entries: list[dict[str, Any]] = [
        {
            **(
                {"org_id": d.org_id, "profile_id": d.profile_id}
                if isinstance(d, ProfileActivity)
                else {"org_id": d.org_id}
                if isinstance(d, OrgActivity)
                else {"user_id": d.user_id}
            ),
            "entry": d.entry.model_dump(mode="json", exclude_none=True),
        }
        for d in derived
    ]
    cause = {"record_id": record_id, "entries": entries}
    return PendingEffect(kind="record_activity", effect_id=record_id, cause=cause, created_at=now)


def deferred_entries(cause: dict[str, Any]) -> list[Derived]:
    """The entries a `record_activity` effect holds, as `activity_of_change` derived them."""
    derived: list[Derived] = []
    for place in cause["entries"]:
        entry = ActivityEntry.model_validate(place["entry"])
        if "user_id" in place:
            derived.append(UserActivity(place["user_id"], entry))
        elif "profile_id" not in place:
            derived.append(OrgActivity(place["org_id"], entry))
        else:
            derived.append(ProfileActivity(place["org_id"], place["profile_id"], entry))
    return derived


def profile_activity(
    store: ActivityReads, principal: Principal, org_id: str, profile_id: str, *, limit: int, cursor: str | None
) -> ProfileActivityResponse:
    """The profile's trail, newest first, to any staff of its org."""
    require_staff_of(principal, org_id, any_role=READERS)
    if store.get_profile(org_id, profile_id) is None:
        raise NotFound("no such profile")
    entries, next_cursor = store.activity_page(org_id, profile_id, limit=limit, cursor=cursor)
    return ProfileActivityResponse(entries=entries, next_cursor=next_cursor)


ORG_TRAIL_READERS = frozenset({"admin"})


def org_activity(
    store: ActivityReads, principal: Principal, org_id: str, *, limit: int, cursor: str | None
) -> ProfileActivityResponse:
    """The org's own trail (settings changes), newest first, to its admins."""
    require_staff_of(principal, org_id, any_role=ORG_TRAIL_READERS)
    entries, next_cursor = store.org_activity_page(org_id, limit=limit, cursor=cursor)
    return ProfileActivityResponse(entries=entries, next_cursor=next_cursor)
