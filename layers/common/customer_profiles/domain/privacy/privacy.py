"""A person's and an org's data requests: export and erasure (GDPR articles 15, 17 and 20).

Erasure removes what leads to a person and keeps what the orgs must account for. `DELETE /v1/me` marks the
user `erasing` in one transaction (its subject signs in as it no more, its identifiers are released, and
every write that would reach it from then conditions on it being active: nothing new reaches it); the
`erase_user` effect written with the mark does the rest (`domain.privacy.erasure`): every profile of the person's
lineage is erased in place (its attributes, what staff or a reseller captured, its cards and its user; the
implied items go with them, and each profile's own effect takes the user and the history keys off its
orders and entitlements, which stay, pseudonymised, and deletes its consents and idempotent answers); what
they proved is removed where others' records hold a copy; last the user item goes and `UserErased` is
announced. The org's erasure does the same to one profile and what merged into it (`CustomerErased`),
leaving the person's user and their other orgs alone; a dormant holder left with no profile keeps nothing.
"""

from __future__ import annotations

from typing import Any

from customer_profiles.clock import utc_now
from customer_profiles.domain.claims import claims
from customer_profiles.domain.identity import history, users
from customer_profiles.domain.privacy import erasure
from customer_profiles.domain.staff.access import acting_staff, require_staff_of, staff_actor
from customer_profiles.errors import InvalidInput, NotFound
from customer_profiles.models.api import ActivityExport, IdentifierExport, OrgProfileExport, PersonExport, ProfileExport
from customer_profiles.models.domain import Profile
from customer_profiles.models.principal import Principal
from customer_profiles.ports.cursors import decode_cursor, encode_cursor
from customer_profiles.ports.effects import publish_effect
from customer_profiles.ports.privacy import DataRequests, erase_user_effect
from customer_profiles.retry import on_concurrent_write

ADMINS = frozenset({"admin"})
EXPORT_PAGE = 100  # history entries per export page: a long history stays bounded in memory


def erase_me(store: DataRequests, principal: Principal) -> None:
    """Erase the caller: idempotent, a second call (or a call by someone never registered) does nothing."""

    def mark() -> None:
        user = users.caller_user(store, principal)  # never the authorizer's cached id alone: it may be a ghost
        if user is None:
            return
        identifiers = [identifier for identifier, _ in store.identifiers_held_by(user.user_id)]
        now = utc_now()
        erasing = user.model_copy(
            update={
                "status": "erasing",
                "subject": None,
                "email": None,
                "phone": None,
                "updated_at": now,
                "version": user.version + 1,
            }
        )
        effect = erase_user_effect(user.user_id, identifiers, now)
        store.mark_erasing(user, erasing, principal.subject, identifiers, effect)

    on_concurrent_write(mark, give_up="the erasure kept conflicting with concurrent changes; retry")


def erase_org_profile(store: DataRequests, principal: Principal, org_id: str, profile_id: str) -> ProfileExport:
    """The org erases its customer's profile (Shopify's customers/redact): that profile and the profiles
    that merged into it. A dormant holder left with no profile releases its identifier and keeps nothing."""
    store = acting_staff(store, principal, org_id, any_role=ADMINS)
    profile = store.get_profile(org_id, profile_id)
    if profile is None or profile.merged_into:
        raise NotFound("no such profile")
    now = utc_now()
    detail = {"org_id": org_id, "profile_id": profile_id, "erased_at": now}
    event = publish_effect("CustomerErased", detail, f"customer-erased#{org_id}#{profile_id}", now)
    by = staff_actor(principal, org_id, any_role=ADMINS)
    done = erasure.erase_lineage(store, profile, by=by, announce=event)
    if profile.user_id:
        _release_if_left_empty(store, profile.user_id)
    return ProfileExport.of(done[0])


def _release_if_left_empty(store: DataRequests, holder_id: str) -> None:
    """A dormant holder with no profile left holds nothing for anyone: its identifier and fields go."""

    def attempt() -> None:
        holder = store.get_user(holder_id)
        if holder is None or holder.status != "dormant" or store.user_has_profiles(holder_id):
            return
        held = [identifier for identifier, _ in store.identifiers_held_by(holder_id)]
        now = utc_now()
        released = holder.model_copy(
            update={"email": None, "phone": None, "updated_at": now, "version": holder.version + 1}
        )
        store.release_dormant_holder(holder, released, held)

    on_concurrent_write(attempt, give_up="the erasure kept conflicting with concurrent changes; retry")


def export_me(store: DataRequests, principal: Principal, *, cursor: str | None) -> PersonExport:
    """Everything held about the caller, in pages that each stay bounded: the first holds the user, their
    identifiers with provenance, every profile (with its consents) and their open claims; then the history
    (all orgs, newest first), then each profile's activity trail, one page at a time."""
    user = users.get_me(store, principal)
    part = _export_part(cursor)
    if part["part"] == "activity":
        return _activity_page(store, user.user_id, part)
    found, history_cursor = store.history_of_user(user.user_id, org_id=None, limit=EXPORT_PAGE, cursor=part["cursor"])
    entries = history.history_entries(found)
    next_part = {"part": "history", "cursor": history_cursor} if history_cursor else {"part": "activity", "index": 0}
    next_cursor = encode_cursor(next_part)
    if cursor:
        return PersonExport(user_id=user.user_id, history=entries, next_cursor=next_cursor)
    held = store.identifiers_held_by(user.user_id)
    open_claims = claims.open_claims_of_me(store, principal, limit=100, cursor=None).claims if held else []
    return PersonExport(
        user_id=user.user_id,
        user=user,
        identifiers=[
            IdentifierExport(kind=kind, value=value, provenance=proof.provenance, at=proof.at)
            for (kind, value), proof in held
        ],
        profiles=[
            ProfileExport.of(p, store.consents_of(p.org_id, p.profile_id)) for p in _profiles_of(store, user.user_id)
        ],
        claims=open_claims,
        history=entries,
        next_cursor=next_cursor,
    )


def _profiles_of(store: DataRequests, user_id: str) -> list[Profile]:
    """The person's profiles, each followed by those that merged into it (`merged_into` set), then the
    profiles of dormant holders folded into them that their link has not moved yet."""
    found: list[Profile] = []
    for holder in [user_id, *store.merged_user_ids(user_id)]:
        for profile in store.all_profiles_of_user(holder):
            found += [profile, *erasure.lineage_of(store, profile)]
    return found


def _export_part(cursor: str | None) -> dict[str, Any]:
    """Where an export goes on, exactly as `export_me` writes it: the history at its own cursor, or the
    activity of the profile at `index` (at its own cursor, or from its start). The inner cursors are
    checked by the reads they resume."""
    if not cursor:
        return {"part": "history", "cursor": None}
    part = decode_cursor(cursor)
    inner = part.get("cursor", "-")  # absent: the activity's start
    history = set(part) == {"part", "cursor"} and part["part"] == "history"
    activity = (
        set(part) in ({"part", "index"}, {"part", "index", "cursor"})
        and part["part"] == "activity"
        and type(part["index"]) is int
        and part["index"] >= 0
    )
    if not ((history or activity) and isinstance(inner, str) and inner):
        raise InvalidInput("invalid cursor", field="cursor")
    return part


def _activity_page(store: DataRequests, user_id: str, part: dict[str, Any]) -> PersonExport:
    """One page of one profile's activity trail; the profiles in the order the first page listed them."""
    profiles = _profiles_of(store, user_id)
    index = part["index"]
    if index >= len(profiles):
        return PersonExport(user_id=user_id, next_cursor=None)
    profile = profiles[index]
    found, more = store.activity_page(profile.org_id, profile.profile_id, limit=EXPORT_PAGE, cursor=part.get("cursor"))
    following = (
        {"part": "activity", "index": index, "cursor": more} if more else {"part": "activity", "index": index + 1}
    )
    last = not more and index + 1 >= len(profiles)
    return PersonExport(
        user_id=user_id,
        activity=[ActivityExport(org_id=profile.org_id, profile_id=profile.profile_id, entry=e) for e in found],
        next_cursor=None if last else encode_cursor(following),
    )


def export_org_profile(
    store: DataRequests, principal: Principal, org_id: str, profile_id: str, *, cursor: str | None
) -> OrgProfileExport:
    """What the org holds about one customer (Shopify's customers/data_request): the profile, and page by
    page its orders and entitlements."""
    require_staff_of(principal, org_id, any_role=ADMINS)
    profile = store.get_profile(org_id, profile_id)
    if profile is None or profile.merged_into:
        raise NotFound("no such profile")
    orders, entitlements, next_cursor = store.children_page(org_id, profile_id, limit=EXPORT_PAGE, cursor=cursor)
    return OrgProfileExport(
        profile=ProfileExport.of(profile, store.consents_of(org_id, profile_id)),
        orders=orders,
        entitlements=entitlements,
        next_cursor=next_cursor,
    )
