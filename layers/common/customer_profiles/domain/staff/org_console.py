"""The org's view of its customers: search, listing, reading, editing, voiding, attaching identifiers.

An org learns nothing about a user beyond its own profile: only whether a registered account holds it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

from customer_profiles.clock import utc_now
from customer_profiles.domain.identity.identifiers import normalise_email, normalise_phone
from customer_profiles.domain.identity.profiles import update_profile_attributes
from customer_profiles.domain.identity.proofs import place_sale
from customer_profiles.domain.staff.access import acting_staff, require_staff_of, staff_actor
from customer_profiles.errors import ConcurrentWrite, Erased, InvalidInput, NotFound, StateConflict
from customer_profiles.models.api import (
    AttachIdentifierRequest,
    OrgProfileDetailResponse,
    OrgProfileListResponse,
    OrgProfileResponse,
    ProfileResponse,
    ProfileUpdateRequest,
)
from customer_profiles.models.consents import consent_views
from customer_profiles.models.domain import CapturedDetails, Entitlement, Identifier, Profile, Proof
from customer_profiles.models.principal import Principal
from customer_profiles.ports.identity import ProfileAttachment, ProfileReads
from customer_profiles.ports.staff import OrgConsole, UserStatuses
from customer_profiles.retry import on_concurrent_write

READERS = frozenset({"viewer", "admin", "pos"})
ADMINS = frozenset({"admin"})
SearchField = Literal["email", "phone", "name"]


def org_views(
    store: UserStatuses, profiles: Sequence[Profile], *, statuses: Mapping[str, str] | None = None
) -> list[OrgProfileResponse]:
    """Staff's view of profiles; `statuses` (user id -> status) when the caller knows them already."""
    if statuses is None:
        statuses = store.users_status(p.user_id for p in profiles if p.user_id)
    return [
        OrgProfileResponse(
            **ProfileResponse.of(p).model_dump(),
            captured=p.captured or CapturedDetails(),
            linked_account=statuses.get(p.user_id or "") == "active",
            needs_review=bool(p.needs_review),
        )
        for p in profiles
    ]


def normalised_identifiers(
    email: str | None, phone: str | None, *, default_region: str | None, field_prefix: str = ""
) -> list[Identifier]:
    found: list[Identifier] = []
    if email:
        found.append(("email", normalise_email(email, field=f"{field_prefix}email")))
    if phone:
        found.append(("phone", normalise_phone(phone, default_region=default_region, field=f"{field_prefix}phone")))
    return found


def _own_profile(store: ProfileReads, org_id: str, profile_id: str) -> Profile:
    profile = store.get_profile(org_id, profile_id)
    if profile is None or profile.merged_into:
        raise NotFound("no such profile")
    return profile


def read_profile(
    store: OrgConsole, principal: Principal, org_id: str, profile_id: str, *, limit: int, cursor: str | None
) -> OrgProfileDetailResponse:
    """The profile with one page of its orders and entitlements, newest first: the same few requests
    whether it has 10 orders or 10,000 (the profile, a Query per kind of child, the holder's status)."""
    require_staff_of(principal, org_id, any_role=READERS)
    profile, consents = store.profile_and_consents(org_id, profile_id)
    if profile is None:
        raise NotFound("no such profile")
    orders, entitlements, next_cursor = store.children_page(org_id, profile_id, limit=limit, cursor=cursor)
    return OrgProfileDetailResponse(
        profile=org_views(store, [profile])[0],
        orders=orders,
        entitlements=entitlements,
        next_cursor=next_cursor,
        consents=consent_views(consents, with_actor=True),
    )


def list_profiles(
    store: OrgConsole,
    principal: Principal,
    org_id: str,
    *,
    search: tuple[SearchField, str] | None,
    limit: int,
    cursor: str | None,
) -> OrgProfileListResponse:
    require_staff_of(principal, org_id, any_role=READERS)
    if search is None:
        profiles, next_cursor = store.list_org_profiles(org_id, limit=limit, cursor=cursor)
        return OrgProfileListResponse(profiles=org_views(store, profiles), next_cursor=next_cursor)
    by, raw = search
    if by == "name":
        value = raw.strip()
        if not value:
            raise InvalidInput("a name prefix is required", field="name")
    else:
        region = store.org_default_region(org_id) if by == "phone" else None
        value = normalised_identifiers(
            raw if by == "email" else None, raw if by == "phone" else None, default_region=region
        )[0][1]
    profiles, next_cursor = store.search_profiles(org_id, by, value, limit=limit, cursor=cursor)
    return OrgProfileListResponse(profiles=org_views(store, profiles), next_cursor=next_cursor)


def update_profile(
    store: OrgConsole, principal: Principal, org_id: str, profile_id: str, request: ProfileUpdateRequest
) -> OrgProfileResponse:
    store = acting_staff(store, principal, org_id, any_role=ADMINS)
    actor = staff_actor(principal, org_id, any_role=ADMINS)
    profile = _own_profile(store, org_id, profile_id)
    if profile.erased_at:
        raise Erased("this profile was erased: nothing may be written back onto it")
    updated = update_profile_attributes(profile, request, store, actor)
    return org_views(store, [updated])[0]


def void_entitlement(
    store: OrgConsole, principal: Principal, org_id: str, profile_id: str, entitlement_id: str
) -> Entitlement:
    """Voiding is idempotent: a void entitlement stays void and is returned as it is. Decided on the
    entitlement as read: a merge or a claim moving it meanwhile makes the void read again, never lost."""
    store = acting_staff(store, principal, org_id, any_role=ADMINS)
    actor = staff_actor(principal, org_id, any_role=ADMINS)

    def attempt() -> Entitlement:
        current = store.get_entitlement(org_id, profile_id, entitlement_id)
        if current is None:
            raise NotFound("no such entitlement")
        if current.status == "void":
            return current
        return store.set_entitlement_status(current, to="void", changed_by=actor, at=utc_now())

    return on_concurrent_write(attempt, give_up="the entitlement kept changing; retry")


def attach_identifier(
    store: OrgConsole, principal: Principal, org_id: str, profile_id: str, request: AttachIdentifierRequest
) -> OrgProfileResponse:
    """Give an orphaned profile an email or phone: it goes where a sale typed with them would (the person who
    verified one of them, else the dormant holder of the first, else a new dormant holder of the first), so
    that the person can later activate it. A second identifier is captured with it as a hint."""
    store = acting_staff(store, principal, org_id, any_role=ADMINS)
    actor = staff_actor(principal, org_id, any_role=ADMINS)
    identifiers = normalised_identifiers(
        request.email, request.phone, default_region=store.org_default_region(org_id) if request.phone else None
    )

    def attempt() -> OrgProfileResponse:
        profile = _own_profile(store, org_id, profile_id)
        if profile.erased_at:  # its person asked to be forgotten: no identifier may lead back to them
            raise Erased("this profile was erased: it cannot be given to a customer again")
        if profile.user_id:
            raise StateConflict("this profile already belongs to a customer account")
        if request.version != profile.version:
            raise StateConflict(f"stale version {request.version}: the profile is at version {profile.version}")
        now = utc_now()
        holders = store.identifier_holders(identifiers)
        placement = place_sale(identifiers, holders, now)
        holder = None if placement.new_holder else store.get_user(placement.user_id)
        if placement.new_holder is None and (holder is None or holder.status == "merged"):
            raise ConcurrentWrite("the identifier's holder is being merged; retry")
        if store.profile_id_of_user_in_org(placement.user_id, org_id):
            raise StateConflict("this customer already has another profile in this org")
        captured = (profile.captured or CapturedDetails()).model_copy(
            update={k: v for k, v in identifiers if k in ("email", "phone")}
        )
        updated = profile.model_copy(
            update={
                "user_id": placement.user_id,
                "captured": captured,
                "updated_at": now,
                "version": profile.version + 1,
                "reached_at": now if placement.holder_active else None,
            }
        )
        store.attach_profile_to_user(
            ProfileAttachment(
                profile=profile,
                updated=updated,
                new_holder=placement.new_holder,
                claimed=placement.claimed,
                holder=holder,
                holdings={i: holders.get(i) for i in identifiers},
                proof=Proof(provenance="staff_captured", at=now, org_id=org_id),
                changed_by=actor,
            )
        )
        return org_views(store, [updated])[0]

    return on_concurrent_write(attempt, give_up="the profile kept changing; retry")
