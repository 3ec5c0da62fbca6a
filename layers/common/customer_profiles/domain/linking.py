"""Linking: after an activation or a merge, every profile of the dormant identities follows the person.

Runs from the table's stream (at least once, ordered per item only), so every step is guarded by the state
it expects and a redelivery, or a replay out of order, changes nothing.
"""

from __future__ import annotations

from customer_profiles.data.profiles import NOT_MERGED, ProfileChange
from customer_profiles.data.store import Store
from customer_profiles.domain.users import utc_now
from customer_profiles.errors import ConcurrentWrite
from customer_profiles.models.domain import CapturedDetails, Profile
from customer_profiles.models.events import DomainEvent


class LinkTargetNotReady(Exception):
    """The user to link to is not (yet) active: the record fails and is retried, then re-driven."""


def link_merged_user(store: Store, from_user_id: str, to_user_id: str) -> DomainEvent:
    """Re-parent every profile of `from_user_id` (merged) to `to_user_id`; one profile per org survives."""
    target = store.get_user(to_user_id)
    if target is None or target.status != "active":
        raise LinkTargetNotReady(f"user {to_user_id} is not active")
    linked: list[dict[str, str]] = []
    for candidate in store.all_profiles_of_user(from_user_id):
        # The index only finds candidates: decide on the profile as it is now.
        profile = store.get_profile(candidate.org_id, candidate.profile_id)
        if profile is None or profile.merged_into:
            continue
        survivor = _link_profile(store, profile, to_user_id)
        linked.append(
            {
                "org_id": profile.org_id,
                "profile_id": survivor.profile_id,
                **({"merged_profile_id": profile.profile_id} if survivor is not profile else {}),
            }
        )
    store.complete_link_task(from_user_id)
    return DomainEvent("ProfilesLinked", {"user_id": to_user_id, "merged_user_id": from_user_id, "profiles": linked})


def _link_profile(store: Store, profile: Profile, to_user_id: str) -> Profile:
    now = utc_now()
    existing_id = store.profile_id_of_user_in_org(to_user_id, profile.org_id)
    if existing_id is None:
        try:
            moved = store.move_profile_to_user(profile, to_user_id, now)
        except ConcurrentWrite:
            return _after_lost_race(store, profile, to_user_id)
        store.rekey_children(moved.org_id, moved.profile_id, to_user_id)
        return moved
    if existing_id == profile.profile_id:  # moved by an earlier delivery: finish its children
        store.rekey_children(profile.org_id, profile.profile_id, to_user_id)
        return profile
    target = store.get_profile(profile.org_id, existing_id)
    if target is None:
        raise ConcurrentWrite("the user's profile in this org is being written")
    merge_profile_into(store, profile, target, now)
    return target


def merge_profile_into(store: Store, source: Profile, target: Profile, now: str) -> None:
    """Two profiles of one person in one org become one: every order and entitlement moves under `target`
    (each always has exactly one parent), then `source` is marked merged and `target` takes over what
    the org could find it by (captured emails and phones, card pointers), in one transaction."""
    store.move_children(source, target)
    merged = source.model_copy(
        update={"merged_into": target.profile_id, "updated_at": now, "version": source.version + 1}
    )
    changes = [ProfileChange(source, merged, NOT_MERGED)]
    absorbed = _absorb(target, source, now)
    if absorbed is not target:
        changes.append(ProfileChange(target, absorbed, NOT_MERGED))
    store.write_profiles(*changes)


def _absorb(target: Profile, source: Profile, now: str) -> Profile:
    """`target` with what `source` was found by that it lacks (itself when it lacks nothing)."""
    mine, theirs = target.captured or CapturedDetails(), source.captured or CapturedDetails()
    emails = [
        e
        for e in dict.fromkeys([theirs.email, *theirs.other_emails])
        if e and e not in (mine.email, *mine.other_emails)
    ]
    phones = [
        p
        for p in dict.fromkeys([theirs.phone, *theirs.other_phones])
        if p and p not in (mine.phone, *mine.other_phones)
    ]
    cards = [c for c in source.cards if c not in target.cards]
    if not (emails or phones or cards):
        return target
    captured = mine.model_copy(
        update={"other_emails": [*mine.other_emails, *emails], "other_phones": [*mine.other_phones, *phones]}
    )
    return target.model_copy(
        update={
            "captured": captured,
            "cards": [*target.cards, *cards],
            "updated_at": now,
            "version": target.version + 1,
        }
    )


def _after_lost_race(store: Store, profile: Profile, to_user_id: str) -> Profile:
    current = store.get_profile(profile.org_id, profile.profile_id)
    if current is not None and current.user_id == to_user_id:
        store.rekey_children(current.org_id, current.profile_id, to_user_id)
        return current
    # The user got a profile in this org meanwhile: merge into it on the retry.
    raise ConcurrentWrite("the profile changed while linking; retry")


def activation_event(store: Store, user_id: str) -> DomainEvent:
    """A dormant user became a person's active user: its profiles are theirs already (same user id)."""
    profiles = [{"org_id": p.org_id, "profile_id": p.profile_id} for p in store.all_profiles_of_user(user_id)]
    return DomainEvent("ProfilesLinked", {"user_id": user_id, "activated": True, "profiles": profiles})


def relink_pending(store: Store) -> tuple[list[DomainEvent], list[str]]:
    """The re-drive: run every link task still pending (those whose stream records were given up on).

    Returns the events of the links done and a description of each task that failed again (left pending).
    """
    done: list[DomainEvent] = []
    failed: list[str] = []
    for source, target in store.pending_link_tasks():
        try:
            done.append(link_merged_user(store, source, target))
        except (LinkTargetNotReady, ConcurrentWrite) as error:
            failed.append(f"{source} -> {target}: {error}")
    return done, failed
