"""A profile's activity trail: what each change of the table means for the profiles it concerns, and the
staff's view of it.

`activity_of_change` is pure: from a stream record's event name and images (plain values) it derives the
entries, so every writer's change is on the trail without the writer doing anything but stamping who it
is (`changed_by`). Entries name fields, kinds and ids, never a value a person could be found by.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from customer_profiles.data import keys
from customer_profiles.data.store import Store
from customer_profiles.domain.staff.access import require_staff_of
from customer_profiles.errors import NotFound
from customer_profiles.models.activity import CUSTOMER, SYSTEM, ActivityEntry, Actor
from customer_profiles.models.api import ProfileActivityResponse
from customer_profiles.models.domain import DEFAULT_POS_CAPTURE, PendingEffect
from customer_profiles.models.principal import Principal

Image = dict[str, Any]
READERS = frozenset({"viewer", "admin", "pos"})
MAX_LABEL = 64  # purposes, statuses, sources: enumerations, cut short if a writer ever sends more
CLAIMED = frozenset({"claimed", "used"})  # claims claimed before the lifecycle had four states say `used`


@dataclass(frozen=True)
class ProfileActivity:
    """An entry on one profile's trail."""

    org_id: str
    profile_id: str
    entry: ActivityEntry


@dataclass(frozen=True)
class UserActivity:
    """An entry on the trail of every profile of a user (an activation changes the user, not its profiles)."""

    user_id: str
    entry: ActivityEntry


@dataclass(frozen=True)
class OrgActivity:
    """An entry on an org's own trail (its settings)."""

    org_id: str
    entry: ActivityEntry


Derived = ProfileActivity | UserActivity | OrgActivity
SETTINGS_AUDITED = {"pos_capture": DEFAULT_POS_CAPTURE}  # each setting the trail follows, with its default


@dataclass(frozen=True)
class Change:
    """A stream record as the derivation reads it."""

    event_name: str
    old: Image | None
    new: Image | None
    record_time: str


def activity_of_change(  # noqa: PLR0911 - one branch per kind of item
    event_name: str, old: Image | None, new: Image | None, *, record_time: str
) -> list[Derived]:
    """The entries a stream record implies (none for anything that is no profile's business), each dated by
    the item's own time: when its writer made the change (to the millisecond), so the trail's newest-first
    order is the order of the writes. The stream's `ApproximateCreationDateTime` (`record_time`) is a second
    in AWS and a minute in DynamoDB Local, too coarse to order by: it dates only an item that carries no
    time at all, which none of our writers writes (tests/unit/test_activity.py)."""
    image = new or old
    if not image or event_name not in {"INSERT", "MODIFY", "REMOVE"}:
        return []
    pk, sk = image.get("pk"), image.get("sk")
    if not isinstance(pk, str) or not isinstance(sk, str):
        return []
    settings_of = keys.org_of_settings_key(pk, sk)
    if settings_of:
        return _settings(event_name, old, new, settings_of, record_time)
    owner = keys.profile_of_pk(pk)
    if owner:
        if sk == keys.PROFILE_SK:
            return _profile(event_name, old, new, owner, record_time)
        if sk.startswith(keys.ORDER_SK_PREFIX):
            return _order(event_name, new, owner, record_time)
        if sk.startswith(keys.ENTITLEMENT_SK_PREFIX):
            return _entitlement(event_name, old, new, owner, record_time)
        if sk.startswith(keys.CONSENT_SK_PREFIX):
            return _consent(Change(event_name, old, new, record_time), owner, sk)
        return []
    if pk.startswith(keys.CLAIM_PREFIX) and sk == keys.CLAIM_SK:
        return _claim(event_name, old, new, record_time)
    if pk.startswith(keys.USER_PREFIX) and sk == keys.USER_SK:
        return _user(event_name, old, new, record_time)
    return []


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _own_time(image: Image | None, *names: str) -> str | None:
    """The first of the item's time attributes `names` it carries."""
    return next((t for t in (_text((image or {}).get(name)) for name in names) if t), None)


def _label(value: Any) -> str | None:
    text = _text(value)
    return text[:MAX_LABEL] if text else None


def _map(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _actor(image: Image | None, default: Actor | None = None) -> Actor | None:
    return Actor.of_stamp((image or {}).get("changed_by")) or default


def _profile(
    event_name: str, old: Image | None, new: Image | None, owner: tuple[str, str], record_time: str
) -> list[Derived]:
    org_id, profile_id = owner
    if new is None:  # profiles are never deleted; a REMOVE is nobody's activity
        return []
    actor = _actor(new)

    def entry(kind: Any, **fields: Any) -> ActivityEntry:
        at = _own_time(new, "updated_at", "created_at") or record_time
        return ActivityEntry(kind=kind, at=at, actor=actor, **fields)

    if event_name == "INSERT" or old is None:
        return [ProfileActivity(org_id, profile_id, entry("created", origin=_label(new.get("origin"))))]
    if new.get("erased_at") and not old.get("erased_at"):
        return [ProfileActivity(org_id, profile_id, entry("erased"))]
    into = _text(new.get("merged_into"))
    if into and not old.get("merged_into"):
        return [
            ProfileActivity(org_id, profile_id, entry("merged_into", other_profile_id=into)),
            ProfileActivity(org_id, into, entry("merged_from", other_profile_id=profile_id)),
        ]
    found: list[Derived] = []
    old_user, new_user = old.get("user_id"), new.get("user_id")
    if new_user and new_user != old_user:
        attached = changed_names(_map(old.get("captured")), _map(new.get("captured")), among=("email", "phone"))
        if not old_user and attached:
            found.append(ProfileActivity(org_id, profile_id, entry("identifier_attached", identifier_kinds=attached)))
        else:
            found.append(ProfileActivity(org_id, profile_id, entry("linked")))
    elif new_user == old_user and (forgotten := _forgotten_kinds(_map(old.get("captured")), _map(new.get("captured")))):
        # an erased person's identifier, captured here by staff or a reseller, is gone from this profile
        found.append(ProfileActivity(org_id, profile_id, entry("identifier_forgotten", identifier_kinds=forgotten)))
    fields = changed_names(_map(old.get("attributes")), _map(new.get("attributes")))
    if fields:
        found.append(ProfileActivity(org_id, profile_id, entry("edited", fields=fields)))
    return found


def _forgotten_kinds(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """The kinds (email, phone) of which a captured value is no longer there: never the value."""
    kinds = []
    for kind in ("email", "phone"):
        before = {old.get(kind), *(old.get(f"other_{kind}s") or [])} - {None}
        after = {new.get(kind), *(new.get(f"other_{kind}s") or [])} - {None}
        if before - after:
            kinds.append(kind)
    return kinds


def changed_names(old: dict[str, Any], new: dict[str, Any], *, among: Sequence[str] | None = None) -> list[str]:
    """The names whose values differ (one absent counts as null), sorted; never a value."""
    names = among if among is not None else sorted(set(old) | set(new))
    return sorted(name for name in names if old.get(name) != new.get(name))


def _order(event_name: str, new: Image | None, owner: tuple[str, str], record_time: str) -> list[Derived]:
    # Only a new order; one moved under another profile by a merge (`moved_from`) was placed before.
    if event_name != "INSERT" or new is None or new.get("moved_from"):
        return []
    at = _own_time(new, "created_at") or record_time
    entry = ActivityEntry(kind="order_placed", at=at, actor=_actor(new), order_id=_text(new.get("order_id")))
    return [ProfileActivity(*owner, entry)]


def _entitlement(
    event_name: str, old: Image | None, new: Image | None, owner: tuple[str, str], record_time: str
) -> list[Derived]:
    if event_name != "MODIFY" or not old or not new or old.get("status") == "void" or new.get("status") != "void":
        return []
    entry = ActivityEntry(
        kind="entitlement_voided",
        at=_own_time(new, "status_changed_at") or record_time,
        actor=_actor(new),
        entitlement_id=_text(new.get("entitlement_id")),
        order_id=_text(new.get("order_id")),
    )
    return [ProfileActivity(*owner, entry)]


def _consent(change: Change, owner: tuple[str, str], sk: str) -> list[Derived]:
    """Consent statements, read generically: the purpose (from the item, else its key), status and source.

    Dated when the change was recorded here: `changed_at` when a writer stamped one (a statement moved by a
    merge, or stamped just before its removal: a REMOVE's old image), else the statement's `recorded_at`.
    Not `stated_at`: a statement may say it was made days earlier, and the trail is in the order things
    happened to the profile."""
    event_name, old, new, record_time = change.event_name, change.old, change.new, change.record_time
    current = new or old or {}
    if old and new and all(old.get(name) == new.get(name) for name in ("purpose", "status", "source")):
        return []  # written again, saying the same (a stamp before a removal, too)
    at = _own_time(current, "changed_at", "recorded_at", "updated_at", "at", "stated_at")
    entry = ActivityEntry(
        kind="consent_changed",
        at=at or record_time,
        actor=_actor(current),
        purpose=_label(current.get("purpose")) or _label(sk.removeprefix(keys.CONSENT_SK_PREFIX)),
        status="removed" if event_name == "REMOVE" else _label(current.get("status")),
        source=_label(current.get("source")),
    )
    return [ProfileActivity(*owner, entry)]


def _claim(  # noqa: PLR0911 - one branch per transition
    event_name: str, old: Image | None, new: Image | None, record_time: str
) -> list[Derived]:
    if new is None:
        return []
    org_id, profile_id, claim_id = _text(new.get("org_id")), _text(new.get("profile_id")), _text(new.get("claim_id"))
    if not (org_id and profile_id):
        return []
    status, before = new.get("status"), (old or {}).get("status")

    def on(profile: str, kind: Any, at: Any, actor: Actor | None) -> ProfileActivity:
        entry = ActivityEntry(kind=kind, at=_text(at) or record_time, actor=actor, claim_id=claim_id)
        return ProfileActivity(org_id, profile, entry)

    if event_name == "INSERT":
        partner = _text(new.get("partner_id"))
        by_partner = Actor.partner(partner) if partner else None
        return [on(profile_id, "claim_created", new.get("created_at"), _actor(new, by_partner))]
    if status == before:
        return []
    if status in CLAIMED and before not in CLAIMED:
        found: list[Derived] = [on(profile_id, "claim_claimed", new.get("used_at"), _actor(new, CUSTOMER))]
        receiver = _text(new.get("used_by_profile_id"))
        if receiver and receiver != profile_id:
            found.append(on(receiver, "claim_claimed", new.get("used_at"), _actor(new, CUSTOMER)))
        return found
    if status == "cancelled":
        kind = "claim_readdressed" if new.get("replaced_by") else "claim_cancelled"
        return [on(profile_id, kind, new.get("cancelled_at"), _actor(new))]
    if status == "expired":
        return [on(profile_id, "claim_expired", new.get("expired_at"), _actor(new, SYSTEM))]
    return []


def _user(event_name: str, old: Image | None, new: Image | None, record_time: str) -> list[Derived]:
    """A dormant user activated by the person who signed up: each of its profiles is now linked to them."""
    if event_name != "MODIFY" or not old or not new:
        return []
    if old.get("status") != "dormant" or new.get("status") != "active" or not _text(new.get("user_id")):
        return []
    entry = ActivityEntry(kind="linked", at=_own_time(new, "updated_at") or record_time, actor=CUSTOMER)
    return [UserActivity(str(new["user_id"]), entry)]


def _settings(event_name: str, old: Image | None, new: Image | None, org_id: str, record_time: str) -> list[Derived]:
    """A change of the org's settings: which settings changed, from what to what (enumerations, never
    personal), by whom (the admin stamped on the item)."""
    if new is None or event_name == "REMOVE":
        return []
    before = {name: (old or {}).get(name, default) for name, default in SETTINGS_AUDITED.items()}
    after = {name: new.get(name, default) for name, default in SETTINGS_AUDITED.items()}
    changed = [name for name in SETTINGS_AUDITED if before[name] != after[name]]
    if not changed:
        return []
    entry = ActivityEntry(
        kind="settings_changed",
        at=_own_time(new, "updated_at") or record_time,
        actor=_actor(new),
        fields=changed,
        settings={name: str(after[name])[:MAX_LABEL] for name in changed},
        previous={name: str(before[name])[:MAX_LABEL] for name in changed},
    )
    return [OrgActivity(org_id, entry)]


@dataclass(frozen=True)
class Recorded:
    """What became of a stream record's entries: how many were written, or the error that deferred them to
    a pending effect (None when written)."""

    written: int = 0
    deferred: Exception | None = None


def record_activity(
    store: Store,
    record_id: str,
    event_name: str,
    old: Image | None,
    new: Image | None,
    *,
    record_time: str,
    now: str,
) -> Recorded:
    """Write the entries a stream record implies, each once however often the record comes (its key is the
    record's id). When writing them fails, they are written down as a `record_activity` pending effect
    instead (one PutItem, only derived entries: no personal value), which the stream, a re-drive or the
    sweep completes like any other, so an entry outlives the stream's 24 hours. Raises only when that
    write fails too: the record is reported failed and comes again."""
    derived = activity_of_change(event_name, old, new, record_time=record_time)
    if not derived:
        return Recorded()
    try:
        return Recorded(written=write_activity(store, record_id, derived))
    except Exception as error:  # whatever failed (throttling, a user's profiles unread...), the entries wait
        store.put_pending(deferred_activity(record_id, derived, now))
        return Recorded(deferred=error)


def write_activity(store: Store, record_id: str, derived: Sequence[Derived]) -> int:
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
    store: Store, principal: Principal, org_id: str, profile_id: str, *, limit: int, cursor: str | None
) -> ProfileActivityResponse:
    """The profile's trail, newest first, to any staff of its org."""
    require_staff_of(principal, org_id, any_role=READERS)
    if store.get_profile(org_id, profile_id) is None:
        raise NotFound("no such profile")
    entries, next_cursor = store.activity_page(org_id, profile_id, limit=limit, cursor=cursor)
    return ProfileActivityResponse(entries=entries, next_cursor=next_cursor)


ORG_TRAIL_READERS = frozenset({"admin"})


def org_activity(
    store: Store, principal: Principal, org_id: str, *, limit: int, cursor: str | None
) -> ProfileActivityResponse:
    """The org's own trail (settings changes), newest first, to its admins."""
    require_staff_of(principal, org_id, any_role=ORG_TRAIL_READERS)
    entries, next_cursor = store.org_activity_page(org_id, limit=limit, cursor=cursor)
    return ProfileActivityResponse(entries=entries, next_cursor=next_cursor)
