"""What a change of the table means for the activity trails (pure): the entries a typed stream change implies.

Every writer's change is on the trail without the writer doing anything but stamping who it is
(`changed_by`). Entries name fields, kinds and ids, never a value a person could be found by.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from customer_profiles.models.activity import CUSTOMER, SYSTEM, ActivityEntry, Actor
from customer_profiles.models.domain import DEFAULT_POS_CAPTURE, CapturedDetails
from customer_profiles.ports.effects import (
    ClaimChanged,
    ConsentChanged,
    EntitlementChanged,
    MoveKept,
    OrderChanged,
    OrgSettingsChanged,
    ProfileChanged,
    StreamChange,
    UserChanged,
)

MAX_LABEL = 64  # purposes, statuses, sources: enumerations, cut short if a writer ever sends more


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


def activity_of_change(change: StreamChange, *, record_time: str) -> list[Derived]:  # noqa: PLR0911 - one per kind
    """The entries a stream change implies (none for anything that is no profile's business), each dated by
    the item's own time: when its writer made the change (to the millisecond), so the trail's newest-first
    order is the order of the writes. The stream's `ApproximateCreationDateTime` (`record_time`) is a second
    in AWS and a minute in DynamoDB Local, too coarse to order by: it dates only an item that carries no
    time at all, which none of our writers writes (tests/unit/test_activity.py)."""
    match change:
        case OrgSettingsChanged():
            return _settings(change, record_time)
        case ProfileChanged():
            return _profile(change, record_time)
        case OrderChanged():
            return _order(change, record_time)
        case EntitlementChanged():
            return _entitlement(change, record_time)
        case ConsentChanged():
            return _consent(change, record_time)
        case ClaimChanged():
            return _claim(change, record_time)
        case UserChanged():
            return _user(change, record_time)
        case MoveKept():
            return _move(change)
    return []


def _first(*times: str | None) -> str | None:
    """The first of an item's times that it carries."""
    return next((t for t in times if t), None)


def _label(value: str | None) -> str | None:
    return value[:MAX_LABEL] if value else None


def _profile(change: ProfileChanged, record_time: str) -> list[Derived]:
    old, new, org_id, profile_id = change.old, change.new, change.org_id, change.profile_id
    if new is None:  # profiles are never deleted; a REMOVE is nobody's activity
        return []

    def entry(kind: Any, **fields: Any) -> ActivityEntry:
        at = _first(new.updated_at, new.created_at) or record_time
        return ActivityEntry(kind=kind, at=at, actor=change.changed_by, **fields)

    if change.event == "INSERT" or old is None:
        return [ProfileActivity(org_id, profile_id, entry("created", origin=_label(new.origin)))]
    if new.erased_at and not old.erased_at:
        return [ProfileActivity(org_id, profile_id, entry("erased"))]
    into = new.merged_into
    if into and not old.merged_into:
        return [
            ProfileActivity(org_id, profile_id, entry("merged_into", other_profile_id=into)),
            ProfileActivity(org_id, into, entry("merged_from", other_profile_id=profile_id)),
        ]
    found: list[Derived] = []
    old_captured, new_captured = _captured(old.captured), _captured(new.captured)
    if new.user_id and new.user_id != old.user_id:
        attached = changed_names(old_captured, new_captured, among=("email", "phone"))
        if not old.user_id and attached:
            found.append(ProfileActivity(org_id, profile_id, entry("identifier_attached", identifier_kinds=attached)))
        else:
            found.append(ProfileActivity(org_id, profile_id, entry("linked")))
    elif new.user_id == old.user_id and (forgotten := _forgotten_kinds(old_captured, new_captured)):
        # an erased person's identifier, captured here by staff or a reseller, is gone from this profile
        found.append(ProfileActivity(org_id, profile_id, entry("identifier_forgotten", identifier_kinds=forgotten)))
    attributes = (p.attributes.model_dump(mode="json", exclude_none=True) for p in (old, new))
    fields = changed_names(*attributes)
    if fields:
        found.append(ProfileActivity(org_id, profile_id, entry("edited", fields=fields)))
    return found


def _captured(captured: CapturedDetails | None) -> dict[str, Any]:
    return captured.model_dump(mode="json", exclude_none=True) if captured else {}


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


def _order(change: OrderChanged, record_time: str) -> list[Derived]:
    # Only a new order; one moved under another profile by a merge (`moved_from`) was placed before.
    new = change.new
    if change.event != "INSERT" or new is None or change.moved_from:
        return []
    at = new.created_at or record_time
    entry = ActivityEntry(kind="order_placed", at=at, actor=change.changed_by, order_id=new.order_id or None)
    return [ProfileActivity(change.org_id, change.profile_id, entry)]


def _move(change: MoveKept) -> list[Derived]:
    """A move kept in the lineage, on the trail of the profile it concerns (and, for a sale, of the profile it
    left): its kind and what moved it, never whom (the lineage names users; the trail does not)."""
    move = change.new
    if change.event != "INSERT" or move is None or move.kind == "sale":  # a sale placed is `order_placed`
        return []
    actor = Actor.of_stamp(move.by) or change.changed_by
    other = move.to_profile_id if move.from_profile_id == move.profile_id else move.from_profile_id

    def entry(other_profile_id: str | None) -> ActivityEntry:
        return ActivityEntry(
            kind="moved",
            at=move.at,
            actor=actor,
            move=move.kind,
            proof=_label(move.proof),
            order_id=move.order_id,
            other_profile_id=other_profile_id if other_profile_id != move.profile_id else None,
        )

    found: list[Derived] = [ProfileActivity(move.org_id, move.profile_id, entry(other))]
    # A sale's move is on the trail of the profile it left too; so is an unmerge (the survivor's trail says it)
    leaves = move.subject == "order" or move.kind == "unmerge"
    if leaves and move.from_profile_id and move.from_profile_id != move.profile_id:
        left = ActivityEntry(**{**entry(None).model_dump(exclude_none=True), "other_profile_id": move.profile_id})
        found.append(ProfileActivity(move.org_id, move.from_profile_id, left))
    return found


def _entitlement(change: EntitlementChanged, record_time: str) -> list[Derived]:
    old, new = change.old, change.new
    if change.event != "MODIFY" or not old or not new or old.status == "void" or new.status != "void":
        return []
    entry = ActivityEntry(
        kind="entitlement_voided",
        at=change.status_changed_at or record_time,
        actor=change.changed_by,
        entitlement_id=new.entitlement_id or None,
        order_id=new.order_id or None,
    )
    return [ProfileActivity(change.org_id, change.profile_id, entry)]


def _consent(change: ConsentChanged, record_time: str) -> list[Derived]:
    """Consent statements: the purpose, status and source.

    Dated when the change was recorded here: `changed_at` when a writer stamped one (a statement moved by a
    merge, or stamped just before its removal: a REMOVE's old image), else the statement's `recorded_at`.
    Not `stated_at`: a statement may say it was made days earlier, and the trail is in the order things
    happened to the profile."""
    old, new = change.old, change.new
    current = new or old
    if current is None:
        return []
    if old and new and (old.purpose, old.status, old.source) == (new.purpose, new.status, new.source):
        return []  # written again, saying the same (a stamp before a removal, too)
    entry = ActivityEntry(
        kind="consent_changed",
        at=_first(change.changed_at, current.recorded_at, current.stated_at) or record_time,
        actor=change.changed_by,
        purpose=_label(current.purpose) or _label(change.purpose),
        status="removed" if change.event == "REMOVE" else _label(current.status),
        source=_label(current.source),
    )
    return [ProfileActivity(change.org_id, change.profile_id, entry)]


def _claim(change: ClaimChanged, record_time: str) -> list[Derived]:  # noqa: PLR0911 - one branch per transition
    new, times = change.new, change.times
    if new is None or not (new.org_id and new.profile_id):
        return []
    org_id, profile_id, claim_id = new.org_id, new.profile_id, new.claim_id or None
    status, before = new.status, change.old.status if change.old else None

    def on(profile: str, kind: Any, at: str | None, actor: Actor | None) -> ProfileActivity:
        entry = ActivityEntry(kind=kind, at=at or record_time, actor=actor, claim_id=claim_id)
        return ProfileActivity(org_id, profile, entry)

    if change.event == "INSERT":
        by_partner = Actor.partner(new.partner_id) if new.partner_id else None
        return [on(profile_id, "claim_created", new.created_at, change.changed_by or by_partner)]
    if status == before:
        return []
    if status == "claimed":
        found: list[Derived] = [on(profile_id, "claim_claimed", times.used_at, change.changed_by or CUSTOMER)]
        receiver = times.used_by_profile_id
        if receiver and receiver != profile_id:
            found.append(on(receiver, "claim_claimed", times.used_at, change.changed_by or CUSTOMER))
        return found
    if status == "cancelled":
        kind = "claim_readdressed" if new.replaced_by else "claim_cancelled"
        return [on(profile_id, kind, times.cancelled_at, change.changed_by)]
    if status == "expired":
        return [on(profile_id, "claim_expired", times.expired_at, change.changed_by or SYSTEM)]
    return []


def _user(change: UserChanged, record_time: str) -> list[Derived]:
    """A dormant user activated by the person who signed up: each of its profiles is now linked to them."""
    old, new = change.old, change.new
    if change.event != "MODIFY" or not old or not new:
        return []
    if old.status != "dormant" or new.status != "active" or not new.user_id:
        return []
    entry = ActivityEntry(kind="linked", at=new.updated_at or record_time, actor=CUSTOMER)
    return [UserActivity(new.user_id, entry)]


def _settings(change: OrgSettingsChanged, record_time: str) -> list[Derived]:
    """A change of the org's settings: which settings changed, from what to what (enumerations, never
    personal), by whom (the admin stamped on the item)."""
    old, new = change.old, change.new
    if new is None or change.event == "REMOVE":
        return []
    before = {name: getattr(old, name) if old else default for name, default in SETTINGS_AUDITED.items()}
    after = {name: getattr(new, name) for name in SETTINGS_AUDITED}
    changed = [name for name in SETTINGS_AUDITED if before[name] != after[name]]
    if not changed:
        return []
    entry = ActivityEntry(
        kind="settings_changed",
        at=new.updated_at or record_time,
        actor=change.changed_by,
        fields=changed,
        settings={name: str(after[name])[:MAX_LABEL] for name in changed},
        previous={name: str(before[name])[:MAX_LABEL] for name in changed},
    )
    return [OrgActivity(change.org_id, entry)]
