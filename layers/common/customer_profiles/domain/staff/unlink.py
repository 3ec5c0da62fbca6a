"""An org admin undoing a link (docs/decisions.md, undo): a profile a typed or captured identifier linked to
a user (its latest profile move a `link` or an `attach`) goes back to a dormant holder of what it was
captured with, less what that user holds: an existing dormant holder with no profile in the org, else a new
one, else nobody (an orphan). Its orders and entitlements follow it; the user's history drops them."""

from __future__ import annotations

from collections.abc import Sequence

from customer_profiles.clock import utc_now
from customer_profiles.domain.identity.proofs import place_sale
from customer_profiles.domain.identity.undo import expired
from customer_profiles.domain.staff.access import acting_staff, staff_actor
from customer_profiles.domain.staff.org_console import ADMINS, org_views
from customer_profiles.errors import ConcurrentWrite, Erased, LineageExpired, NotFound, NotLinked, StateConflict
from customer_profiles.models.api import OrgProfileResponse, UnlinkRequest
from customer_profiles.models.domain import CapturedDetails, Identifier, Profile, Proof
from customer_profiles.models.principal import Principal
from customer_profiles.ports.effects import publish_effect
from customer_profiles.ports.identity import ProfileChange
from customer_profiles.ports.staff import ProfileUnlinking
from customer_profiles.ports.undo import Destination, ProfileUnlinked, profile_move
from customer_profiles.retry import on_concurrent_write

LINKED_BY = frozenset({"link", "attach"})


def unlink_profile(
    store: ProfileUnlinking, principal: Principal, org_id: str, profile_id: str, request: UnlinkRequest
) -> OrgProfileResponse:
    store = acting_staff(store, principal, org_id, any_role=ADMINS)
    actor = staff_actor(principal, org_id, any_role=ADMINS)

    def attempt() -> OrgProfileResponse:
        profile = _linked_profile(store, org_id, profile_id, request.version)
        now = utc_now()
        assert profile.user_id
        held = {i for i, _ in store.identifiers_held_by(profile.user_id)}
        left = [i for i in (profile.captured or CapturedDetails()).identifiers() if i not in held]
        destination = _destination(store, org_id, left, now)
        updated = profile.model_copy(
            update={
                "user_id": destination.user_id,
                "updated_at": now,
                "version": profile.version + 1,
                "reached_at": None,
                "needs_review": True,
            }
        )
        move = profile_move(profile, updated, "unlink", by=actor)
        to = "nobody" if destination.user_id is None else "dormant_holder"
        announce = publish_effect(
            "ProfileUnlinked", {"org_id": org_id, "profile_id": profile_id, "to": to}, f"unlinked#{move.move_id}", now
        )
        change = ProfileChange(profile, updated, "not_merged", actor)
        store.write_unlink(ProfileUnlinked(change=change, destination=destination, move=move, announce=announce))
        return org_views(store, [updated])[0]

    return on_concurrent_write(attempt, give_up="the profile kept changing; retry")


def _linked_profile(store: ProfileUnlinking, org_id: str, profile_id: str, version: int) -> Profile:
    """The profile, at `version`, linked to its user by an identifier within the retention time."""
    profile = store.get_profile(org_id, profile_id)
    if profile is None or profile.merged_into:
        raise NotFound("no such profile in this org")
    if profile.erased_at:
        raise Erased("this profile was erased")
    if profile.merging_into:
        raise ConcurrentWrite("the profile is being merged; retry")
    if version != profile.version:
        raise StateConflict(f"stale version {version}: the profile is at version {profile.version}")
    if not profile.user_id:
        raise NotLinked("this profile belongs to no customer account")
    moves = store.moves_of(org_id, profile_id, "profile")
    latest = moves[-1] if moves else None
    if latest is None or latest.kind not in LINKED_BY or latest.to_user_id != profile.user_id:
        raise NotLinked("no email or phone linked this profile to its account (it was made by it)")
    if expired(latest, utc_now()):
        raise LineageExpired("this profile was linked too long ago to be unlinked")
    return profile


def _destination(store: ProfileUnlinking, org_id: str, left: Sequence[Identifier], now: str) -> Destination:
    """The first of `left` whose dormant holder has no profile in the org, else a new dormant holder of the
    first nobody holds, else nobody (a person who verified one is not given a whole profile)."""
    holders = store.identifier_holders(left) if left else {}
    holdings = {i: holders.get(i) for i in left}
    for identifier in left:
        holding = holders.get(identifier)
        if holding is None or holding.provenance == "verified":
            continue
        holder = store.get_user(holding.user_id)
        if (
            holder is not None
            and holder.status == "dormant"
            and store.profile_id_of_user_in_org(holder.user_id, org_id) is None
        ):
            return Destination(user_id=holder.user_id, holder=holder, holdings=holdings)
    free = next((i for i in left if i not in holders), None)
    if free is None:
        return Destination(user_id=None, holdings=holdings)
    placement = place_sale([free], {}, now)
    return Destination(
        user_id=placement.user_id,
        new_holder=placement.new_holder,
        claimed=placement.claimed,
        holdings=holdings,
        proof=Proof(provenance="staff_captured", at=now, org_id=org_id),
    )
