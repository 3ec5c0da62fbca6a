"""Linking: after a merge of users, every profile of the merged (dormant) user follows the person.

Runs as a pending effect (`domain.effects.effects`): at least once, possibly concurrently with a re-drive, so every
step is guarded by the state it expects and a repeat changes nothing. Decisions are taken on strongly
consistent reads of the base table: the merged user's profiles come from its own partition.
"""

from __future__ import annotations

from customer_profiles.clock import utc_now
from customer_profiles.domain.privacy import erasure
from customer_profiles.errors import ConcurrentWrite
from customer_profiles.models.activity import SYSTEM
from customer_profiles.models.domain import CapturedDetails, Move, Profile
from customer_profiles.models.events import DomainEvent
from customer_profiles.ports.identity import ProfileChange, ProfileLinking
from customer_profiles.ports.undo import merge_move


class LinkTargetNotReady(Exception):
    """The user to link to is not (yet) active: the effect stays pending, retried, then re-driven."""


def link_merged_user(store: ProfileLinking, from_user_id: str, to_user_id: str) -> list[DomainEvent]:
    """Re-parent every profile of `from_user_id` (merged) to `to_user_id`; one profile per org survives.

    Done only when a final read finds nothing of the merged user left; otherwise it raises to be retried.
    Publishes `ProfilesLinked` only when it moved something (a repeat finds nothing and says nothing).
    What the merged user held reached the person when it was merged (its `merged_at`), whenever it moves.
    The few reads it takes are batched: both users, the merged user's profiles, the person's profiles in
    those orgs (docs/decisions.md: linking costs).
    """
    found = store.users_by_ids([to_user_id, from_user_id])
    target = found.get(to_user_id)
    if target is None or target.status == "erasing":
        # The person is being (or was) erased: what the merged holder kept is erased with them, never moved.
        erasure.erase_profiles_of(store, from_user_id, by=SYSTEM)
        return []
    if target.status != "active":
        raise LinkTargetNotReady(f"user {to_user_id} is not active")
    merged = found.get(from_user_id)
    since = merged.reached_person_at() if merged else None
    profiles = store.all_profiles_of_user(from_user_id)
    theirs = store.profiles_of_user_in_orgs(to_user_id, [p.org_id for p in profiles if not p.merging_into])
    linked: list[dict[str, str]] = []
    now = utc_now()
    for profile in profiles:
        if profile.merging_into:  # an earlier attempt began merging it: finish
            survivor = finish_merge(store, profile, now, since=since)
        elif (existing := theirs.get(profile.org_id)) is None:
            # Its orders and entitlements join the user's history through the re-key the move leaves pending.
            survivor = store.move_profile_to_user(profile, to_user_id, now, reached_at=since or now)
        elif existing.merged_into or existing.merging_into:
            raise ConcurrentWrite("the user's profile in this org is being written; retry")
        else:
            survivor = merge_profile_into(store, profile, existing, now, since=since)
        linked.append(
            {
                "org_id": profile.org_id,
                "profile_id": survivor.profile_id,
                **({"merged_profile_id": profile.profile_id} if survivor.profile_id != profile.profile_id else {}),
            }
        )
    if store.user_has_profiles(from_user_id):
        raise ConcurrentWrite(f"profiles of merged user {from_user_id} appeared while linking; retry")
    if not linked:
        return []
    detail = {"user_id": to_user_id, "merged_user_id": from_user_id, "profiles": linked}
    return [DomainEvent("ProfilesLinked", detail)]


def merge_profile_into(
    store: ProfileLinking, source: Profile, target: Profile, now: str, *, since: str | None = None
) -> Profile:
    """Two profiles of one person in one org become one, closing the door first: `source` is marked as
    merging (sales and claims refuse it from then on), every order and entitlement moves under `target`
    (each always has exactly one parent), then `source` is marked merged and `target` takes over what the
    org could find it by (captured emails and phones, card pointers), in one transaction. Only the link
    merges, inside its pending effect: an interrupted merge is finished when the effect runs again.
    `since`: when what `source` holds reached the person (each moved order keeps it)."""
    closing = closed_for_merge(source, target, now)
    store.write_profiles(ProfileChange(source, closing, "not_merged"))
    return finish_merge(store, closing, now, target=target, since=since)


def closed_for_merge(source: Profile, target: Profile, now: str) -> Profile:
    """`source` with the door closed: sales and claims refuse it."""
    update = {"merging_into": target.profile_id, "updated_at": now, "version": source.version + 1}
    return source.model_copy(update=update)


def finish_merge(
    store: ProfileLinking, source: Profile, now: str, *, target: Profile | None = None, since: str | None = None
) -> Profile:
    """Move what `source` (closed) holds under the profile it merges into, then mark it merged. The door is
    closed before the children are read (strongly consistent), so no child can appear after the read."""
    assert source.merging_into
    if target is None:
        target = store.get_profile(source.org_id, source.merging_into)
    if target is None or target.merged_into:
        raise ConcurrentWrite("the profile merged into is being written; retry")
    store.move_all_children(source, target, since=since or source.reached_at)
    store.move_consents(source, target)  # per purpose, the later statement survives
    merged = source.model_copy(
        update={
            "merged_into": target.profile_id,
            "merging_into": None,
            "updated_at": now,
            "version": source.version + 1,
        }
    )
    changes = [ProfileChange(source, merged, "not_merged")]
    absorbed = _absorb(target, source, now)
    if absorbed is not target:
        changes.append(ProfileChange(target, absorbed, "not_merged"))
    store.write_profiles(*changes, moves=[_takeover(source, target, absorbed, now)])
    return absorbed


def _takeover(source: Profile, target: Profile, absorbed: Profile, now: str) -> Move:
    """What `target` took over from `source` to be found by (kept in `source`'s partition, for an unmerge);
    its children and consents are kept by the moves that took them."""
    mine, after = target.captured or CapturedDetails(), absorbed.captured or CapturedDetails()
    return merge_move(
        source,
        target,
        now,
        emails=[e for e in after.other_emails if e not in mine.other_emails],
        phones=[p for p in after.other_phones if p not in mine.other_phones],
        cards=[c for c in absorbed.cards if c not in target.cards],
    )


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


def activation_event(store: ProfileLinking, user_id: str) -> DomainEvent:
    """A dormant user became a person's active user: its profiles are theirs already (same user id)."""
    profiles = [{"org_id": p.org_id, "profile_id": p.profile_id} for p in store.all_profiles_of_user(user_id)]
    return DomainEvent("ProfilesLinked", {"user_id": user_id, "activated": True, "profiles": profiles})
