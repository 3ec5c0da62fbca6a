"""What erasing a person or a profile does, step by step; each step finds nothing the second time, so the
`erase_user` effect that runs them can stop anywhere and run again.

A person's erasure follows their lineage: every profile of theirs and every profile that ever merged into one
of them (`SOURCE#` items in the survivor's partition), and every dormant holder folded into them (`MERGED#`
items in their partition) with its profiles, linked yet or not. Then what they proved is looked for where
others' records hold a copy: captured as a hint on another profile (`HINT#`), typed with a sale still
pointed at (`TYPED#`), addressed by an open claim. Last, the user item goes, with `UserErased`.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

from customer_profiles.clock import utc_now
from customer_profiles.models.activity import SYSTEM, Actor
from customer_profiles.models.domain import (
    CapturedDetails,
    Identifier,
    Order,
    PendingEffect,
    Profile,
    ProfileAttributes,
)
from customer_profiles.ports.effects import publish_effect
from customer_profiles.ports.identity import LineageErasure, TypedSale
from customer_profiles.ports.privacy import PersonErasure
from customer_profiles.retry import on_concurrent_write

MAX_MERGE_HOPS = 8  # a sale pointed at under a profile that merged on, and on again...
OPEN_CLAIMS_PAGE = 100


def erased(profile: Profile, now: str) -> Profile:
    """The profile with nothing left that leads to its person: it only parents the org's records."""
    return profile.model_copy(
        update={
            "attributes": ProfileAttributes(),
            "captured": None,
            "cards": [],
            "user_id": None,
            "merging_into": None,  # a merge cut short by the erasure: what it had not moved stays, pseudonymised
            "erased_at": profile.erased_at or now,
            "updated_at": now,
            "version": profile.version + 1,
        }
    )


def is_erased(profile: Profile) -> bool:
    """Erased, with nothing left to erase (a profile written to after its erasure is erased again)."""
    return bool(
        profile.erased_at
        and not profile.user_id
        and not profile.captured
        and not profile.cards
        and profile.attributes == ProfileAttributes()
    )


def erase_profile(
    store: LineageErasure, org_id: str, profile_id: str, *, by: Actor, announce: PendingEffect | None = None
) -> Profile | None:
    """One profile (live, merging or merged) erased in place; None when there is no such profile. `announce`
    goes with the erasure's transaction, never with a repeat that finds it erased."""

    def attempt() -> Profile | None:
        profile = store.get_profile(org_id, profile_id)
        if profile is None or is_erased(profile):
            return profile
        after = erased(profile, utc_now())
        store.erase_profile(profile, after, by, announce)
        return after

    done = on_concurrent_write(attempt, give_up="the erasure kept conflicting with concurrent changes; retry")
    if done is not None:
        store.forget_moves_of_profile(org_id, profile_id)  # its lineage names its person: nothing to undo now
    return done


def erase_lineage(
    store: LineageErasure, profile: Profile, *, by: Actor, announce: PendingEffect | None = None
) -> list[Profile]:
    """`profile` and every profile that ever merged into it (and into those), each erased in place."""
    done: list[Profile] = []
    for member in [profile, *lineage_of(store, profile)]:
        after = erase_profile(store, member.org_id, member.profile_id, by=by, announce=None if done else announce)
        if after is not None:
            done.append(after)
    return done


def lineage_of(store: LineageErasure, profile: Profile) -> list[Profile]:
    """The profiles that ever merged into `profile` (and into those), as they are now."""
    found: list[Profile] = []
    todo = store.merged_profile_ids(profile.org_id, profile.profile_id)
    seen = {profile.profile_id}
    while todo:
        fresh = [p for p in dict.fromkeys(todo) if p not in seen]
        seen.update(fresh)
        merged = store.profiles_by_ids(profile.org_id, fresh)
        found += merged
        todo = [p for m in merged for p in store.merged_profile_ids(m.org_id, m.profile_id)]
    return found


def erase_user(store: PersonErasure, user_id: str, identifiers: Sequence[Identifier], at: str, *, by: Actor) -> None:
    """The rest of a person's erasure once their user is `erasing` (the `erase_user` effect): resumable."""
    user = store.get_user(user_id)
    if user is None or user.status != "erasing":
        return  # finished already
    store.release_held(user_id, [identifier for identifier, _ in store.identifiers_held_by(user_id)])
    holders = [user_id, *store.merged_user_ids(user_id)]
    for holder in holders:
        erase_profiles_of(store, holder, by=by)
    for identifier in identifiers:
        forget_identifier(store, identifier, before=at)
    for merged in holders[1:]:
        store.delete_user_partition(merged, keep_user=False)
    store.delete_user_partition(user_id, keep_user=True)
    event = publish_effect("UserErased", {"user_id": user_id, "erased_at": at}, f"erased#{user_id}", at)
    store.finish_erasure(user, event)


def erase_profiles_of(store: LineageErasure, user_id: str, *, by: Actor) -> None:
    """Every profile of `user_id`, with its lineage."""
    for profile in store.all_profiles_of_user(user_id):
        erase_lineage(store, profile, by=by)


def forget_identifier(store: PersonErasure, identifier: Identifier, *, before: str) -> None:
    """An erased person's identifier leaves what others' records hold of it from before `before` (when the
    erasure began: a sale typed with it later is new, and went to a new dormant holder): captured on another
    profile (its search entries go with it, its trail says `identifier_forgotten`), typed with a sale,
    addressing an open claim."""
    for org_id, profile_id in store.profiles_with_hint(identifier):
        forget = functools.partial(_forget_hint, store, org_id, profile_id, identifier, before)
        on_concurrent_write(forget, give_up="a profile kept changing while an identifier left it; retry")
        store.scrub_answers_about(org_id, profile_id, identifier[1])  # a sale's answer shows what was captured
    store.forget_kept(identifier)  # kept by a move (a sale typed with it, a survivor that took it over)
    for pointer in store.typed_sales(identifier):
        if pointer.order_created_at > before:
            continue
        order = _order_pointed_at(store, pointer)
        if order is not None:
            store.forget_typed(identifier, order)
        store.forget_typed_pointer(identifier, pointer)
    cursor: str | None = None
    while True:
        found, cursor = store.open_claims_to([identifier], limit=OPEN_CLAIMS_PAGE, cursor=cursor)
        for hashed, claim in found:
            if claim.created_at <= before:
                store.forget_claim_recipient(hashed)
        if cursor is None:
            return


def _forget_hint(store: PersonErasure, org_id: str, profile_id: str, identifier: Identifier, before: str) -> None:
    profile = store.get_profile(org_id, profile_id)
    if profile is None or profile.captured is None or profile.created_at > before:
        return
    captured = without(profile.captured, identifier)
    if captured == profile.captured:
        return
    updated = profile.model_copy(update={"captured": captured, "updated_at": utc_now(), "version": profile.version + 1})
    store.replace_profile(profile, updated, SYSTEM)


def without(captured: CapturedDetails, identifier: Identifier) -> CapturedDetails:
    """What staff or a reseller captured, less one email or phone."""
    kind, value = identifier
    if kind == "email":
        update = {
            "email": None if captured.email == value else captured.email,
            "other_emails": [e for e in captured.other_emails if e != value],
        }
    else:
        update = {
            "phone": None if captured.phone == value else captured.phone,
            "other_phones": [p for p in captured.other_phones if p != value],
        }
    return captured.model_copy(update=update)


def _order_pointed_at(store: PersonErasure, pointer: TypedSale) -> Order | None:
    """The order a pointer names, wherever merges took it since (None: it moved on alone)."""
    profile_id: str | None = pointer.profile_id
    for _ in range(MAX_MERGE_HOPS):
        if profile_id is None:
            return None
        order = store.get_order(pointer.org_id, profile_id, pointer.order_created_at, pointer.order_id)
        if order is not None:
            return order
        profile = store.get_profile(pointer.org_id, profile_id)
        profile_id = profile.merged_into or profile.merging_into if profile else None
    return None
