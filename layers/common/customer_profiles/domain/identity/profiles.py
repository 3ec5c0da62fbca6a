"""Customer profiles seen from the user's side: one per user per org, created exactly once."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from customer_profiles.clock import new_id, utc_now
from customer_profiles.domain.identity import users
from customer_profiles.errors import ConcurrentWrite, NotFound, StateConflict
from customer_profiles.models.activity import CUSTOMER, SYSTEM, Actor
from customer_profiles.models.api import ProfileUpdateRequest
from customer_profiles.models.domain import Profile, ProfileAttributes, ProfileOrigin
from customer_profiles.models.principal import Principal
from customer_profiles.ports.identity import ProfileReads, UserProfiles

# OIDC standard claim -> profile attribute.
CLAIM_TO_ATTRIBUTE = {
    "given_name": "given_name",
    "family_name": "family_name",
    "name": "display_name",
    "picture": "picture_url",
    "locale": "locale",
    "birthdate": "birth_date",
}


def attributes_from_claims(claims: tuple[tuple[str, str], ...]) -> ProfileAttributes:
    """Seed attributes from the token; a claim that does not validate is left out, never fatal."""
    seed: dict[str, Any] = {}
    for claim, value in claims:
        attribute = CLAIM_TO_ATTRIBUTE.get(claim)
        if attribute is None:
            continue
        try:
            ProfileAttributes.model_validate({attribute: value})
        except ValidationError:
            continue
        seed[attribute] = value
    return ProfileAttributes.model_validate(seed)


def new_user_profile(
    user_id: str, org_id: str, *, origin: ProfileOrigin, seed: ProfileAttributes | None = None
) -> Profile:
    now = utc_now()
    return Profile(
        org_id=org_id,
        profile_id=new_id(),
        user_id=user_id,
        origin=origin,
        attributes=seed or ProfileAttributes(),
        created_at=now,
        updated_at=now,
    )


def ensure_user_profile(
    store: UserProfiles,
    user_id: str,
    org_id: str,
    *,
    origin: ProfileOrigin,
    seed: ProfileAttributes | None = None,
    changed_by: Actor = SYSTEM,
) -> tuple[str, bool]:
    """The user's profile id in the org, created if missing; returns (profile_id, created).

    Exactly once under concurrency: the uniqueness item's condition lets one creator win; the others
    read the winner's profile id.
    """
    existing = store.profile_id_of_user_in_org(user_id, org_id)
    if existing:
        return existing, False
    profile = new_user_profile(user_id, org_id, origin=origin, seed=seed)
    try:
        store.create_user_profile(profile, changed_by)
        return profile.profile_id, True
    except ConcurrentWrite:
        winner = store.profile_id_of_user_in_org(user_id, org_id)
        if winner is None:
            raise
        return winner, False


def user_profile_in_org(store: UserProfiles, user_id: str, org_id: str) -> Profile:
    """The user's own profile in the org; an org where they have none is indistinguishable from no org."""
    profile_id = store.profile_id_of_user_in_org(user_id, org_id)
    profile = store.get_profile(org_id, profile_id) if profile_id else None
    if profile is None or profile.user_id != user_id:
        raise NotFound("no profile in this org")
    return profile


def update_profile_attributes(
    profile: Profile, request: ProfileUpdateRequest, store: UserProfiles, changed_by: Actor = SYSTEM
) -> Profile:
    """Apply the fields the caller sent (null clears one), if nobody changed the profile since they read it."""
    if request.version != profile.version:
        raise StateConflict(f"stale version {request.version}: the profile is at version {profile.version}")
    changes = request.attributes.model_dump(exclude_unset=True)
    updated = profile.model_copy(
        update={
            "attributes": profile.attributes.model_copy(update=changes),
            "updated_at": utc_now(),
            "version": profile.version + 1,
        }
    )
    store.replace_profile(profile, updated, changed_by)
    return updated


MAX_MERGE_HOPS = 8  # a profile merged into one that was merged in turn...


def live_successor(store: ProfileReads, org_id: str, profile_id: str, *, holding: str) -> Profile:
    """The live profile that now holds what was made under `profile_id`: itself, or the one it was merged
    into (following merges). A merge in progress, or a profile being written, is a retryable conflict."""
    for _ in range(MAX_MERGE_HOPS):
        profile = store.get_profile(org_id, profile_id)
        if profile is None:
            break
        if profile.merging_into:
            raise ConcurrentWrite(f"the {holding}'s profile is being merged; retry")
        if profile.unmerging_at:  # its children are going back to it: where they are is not settled yet
            raise ConcurrentWrite(f"the {holding}'s profile is being unmerged; retry")
        if not profile.merged_into:
            return profile
        profile_id = profile.merged_into
    raise ConcurrentWrite(f"the {holding}'s profile is being written; retry")


def my_profile_in_org(store: UserProfiles, principal: Principal, org_id: str) -> Profile:
    """The caller's own profile in the org (their user read again if the authorizer's cached id is stale)."""
    return users.for_the_caller(
        store, principal, lambda user_id: user_profile_in_org(store, user_id, org_id), stale_when=(NotFound,)
    )


def update_my_profile(store: UserProfiles, principal: Principal, org_id: str, request: ProfileUpdateRequest) -> Profile:
    """The caller's white-label attributes in the org, over the version they read."""

    def mine(user_id: str) -> Profile:
        profile = user_profile_in_org(store, user_id, org_id)
        return update_profile_attributes(profile, request, store, CUSTOMER)

    return users.for_the_caller(store, principal, mine, stale_when=(NotFound,))
