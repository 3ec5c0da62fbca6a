"""Linking: after an activation or a merge, every profile of the dormant identities follows the person.

Runs from the table's stream (at least once, ordered per item only), so every step is guarded by the state
it expects and a redelivery, or a replay out of order, changes nothing.
"""

from __future__ import annotations

from customer_profiles.dal import ProfileStore
from customer_profiles.errors import Conflict
from customer_profiles.events import DomainEvent
from customer_profiles.models import Profile
from customer_profiles.users import utc_now


class LinkTargetNotReady(Exception):
    """The user to link to is not (yet) active: the record fails and is retried, then re-driven."""


def link_merged_user(store: ProfileStore, from_user_id: str, to_user_id: str) -> DomainEvent:
    """Re-parent every profile of `from_user_id` (merged) to `to_user_id`; one profile per org survives."""
    target = store.get_user(to_user_id)
    if target is None or target.status != "active":
        raise LinkTargetNotReady(f"user {to_user_id} is not active")
    linked: list[dict[str, str]] = []
    for profile in store.all_profiles_of_user(from_user_id):
        if profile.merged_into:
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


def _link_profile(store: ProfileStore, profile: Profile, to_user_id: str) -> Profile:
    now = utc_now()
    existing_id = store.profile_id_of_user_in_org(to_user_id, profile.org_id)
    if existing_id is None:
        try:
            moved = store.move_profile_to_user(profile, to_user_id, now)
        except Conflict:
            return _after_lost_race(store, profile, to_user_id)
        store.rekey_children(moved.org_id, moved.profile_id, to_user_id)
        return moved
    if existing_id == profile.profile_id:  # moved by an earlier delivery: finish its children
        store.rekey_children(profile.org_id, profile.profile_id, to_user_id)
        return profile
    target = store.get_profile(profile.org_id, existing_id)
    if target is None:
        raise Conflict("the user's profile in this org is being written")
    store.merge_profile_into(profile, target, now)
    return target


def _after_lost_race(store: ProfileStore, profile: Profile, to_user_id: str) -> Profile:
    current = store.get_profile(profile.org_id, profile.profile_id)
    if current is not None and current.user_id == to_user_id:
        store.rekey_children(current.org_id, current.profile_id, to_user_id)
        return current
    # The user got a profile in this org meanwhile: merge into it on the retry.
    raise Conflict("the profile changed while linking; retry")


def activation_event(store: ProfileStore, user_id: str) -> DomainEvent:
    """A dormant user became a person's active user: its profiles are theirs already (same user id)."""
    profiles = [{"org_id": p.org_id, "profile_id": p.profile_id} for p in store.all_profiles_of_user(user_id)]
    return DomainEvent("ProfilesLinked", {"user_id": user_id, "activated": True, "profiles": profiles})


def relink_pending(store: ProfileStore, *, limit: int = 1000) -> tuple[list[DomainEvent], list[str]]:
    """The re-drive: run every link task still pending (those whose stream records were given up on).

    Returns the events of the links done and a description of each task that failed again (left pending).
    """
    done: list[DomainEvent] = []
    failed: list[str] = []
    for source, target in store.pending_link_tasks(limit):
        try:
            done.append(link_merged_user(store, source, target))
        except (LinkTargetNotReady, Conflict) as error:
            failed.append(f"{source} -> {target}: {error}")
    return done, failed
