"""A person's and an org's data requests: export and erasure (GDPR articles 15, 17 and 20).

Erasure removes what leads to a person and keeps what the orgs must account for:
- every profile of the person is erased in place: its attributes (names, image, birth date, locale),
  what staff or a reseller captured (email, phone, ID-document digits), its cards, and its user; the
  implied items go with them (search entries, card pointers, the user-in-org item), and a pending effect
  takes the user and the history keys off its orders and entitlements, which stay (pseudonymised);
- the person's open claims lose their contact details (closed claims never keep them);
- last, the user, the subject that signs in as them and the identifiers they hold are deleted, and
  `UserErased` is announced, in one transaction. Done in this order, a retry after a crash finds the user
  and goes on; a second call finds nobody and answers the same.
The org's erasure does the same to one profile only (`CustomerErased`), leaving the person's user and
their other orgs alone.
"""

from __future__ import annotations

from typing import Any

from customer_profiles.data.codec import decode_cursor, encode_cursor
from customer_profiles.data.pending import publish_effect
from customer_profiles.data.profiles import ProfileChange
from customer_profiles.data.store import Store
from customer_profiles.domain import claims, history, users
from customer_profiles.domain.access import acting_staff, require_staff_of, staff_actor
from customer_profiles.domain.users import utc_now
from customer_profiles.errors import InvalidInput, NotFound
from customer_profiles.models.activity import CUSTOMER, Actor
from customer_profiles.models.api import ActivityExport, IdentifierExport, OrgProfileExport, PersonExport, ProfileExport
from customer_profiles.models.domain import PendingEffect, Profile, ProfileAttributes
from customer_profiles.models.principal import Principal
from customer_profiles.retry import on_concurrent_write

ADMINS = frozenset({"admin"})
EXPORT_PAGE = 100  # history entries per export page: a long history stays bounded in memory


def erased(profile: Profile, now: str) -> Profile:
    """The profile with nothing left that leads to its person: it only parents the org's records."""
    return profile.model_copy(
        update={
            "attributes": ProfileAttributes(),
            "captured": None,
            "cards": [],
            "user_id": None,
            "erased_at": profile.erased_at or now,
            "updated_at": now,
            "version": profile.version + 1,
        }
    )


def erase_me(store: Store, principal: Principal) -> None:
    """Erase the caller: idempotent, a second call (or a call by someone never registered) does nothing."""
    user = users.caller_user(store, principal)  # never the authorizer's cached id alone: it may be a ghost
    if user is None:
        return
    user_id = user.user_id
    for profile in store.all_profiles_of_user(user_id):
        _erase_profile(store, profile.org_id, profile.profile_id, announce=None, by=CUSTOMER)
    identifiers = [identifier for identifier, _ in store.identifiers_held_by(user_id)]
    cursor: str | None = None
    while identifiers:
        found, cursor = store.open_claims_to(identifiers, limit=100, cursor=cursor)
        for hashed, _ in found:
            store.forget_claim_recipient(hashed)
        if cursor is None:
            break
    now = utc_now()
    event = publish_effect("UserErased", {"user_id": user_id, "erased_at": now}, f"erased#{user_id}", now)
    on_concurrent_write(
        lambda: store.write_erasure(store.get_user(user_id) or user, principal.subject, identifiers, event),
        give_up="the erasure kept conflicting with concurrent changes; retry",
    )


def erase_org_profile(store: Store, principal: Principal, org_id: str, profile_id: str) -> ProfileExport:
    """The org erases its customer's profile (Shopify's customers/redact): that profile only."""
    store = acting_staff(store, principal, org_id, any_role=ADMINS)
    now = utc_now()
    detail = {"org_id": org_id, "profile_id": profile_id, "erased_at": now}
    event = publish_effect("CustomerErased", detail, f"customer-erased#{org_id}#{profile_id}", now)
    by = staff_actor(principal, org_id, any_role=ADMINS)
    return ProfileExport.of(_erase_profile(store, org_id, profile_id, announce=event, by=by))


def _erase_profile(store: Store, org_id: str, profile_id: str, *, announce: PendingEffect | None, by: Actor) -> Profile:
    def attempt() -> Profile:
        profile = store.get_profile(org_id, profile_id)
        if profile is None or profile.merged_into:
            raise NotFound("no such profile")
        if profile.erased_at and not profile.user_id and not profile.captured:
            return profile  # erased already: nothing to do, nothing to announce again
        after = erased(profile, utc_now())
        store.write_profiles(ProfileChange(profile, after, changed_by=by), announce=announce)
        return after

    return on_concurrent_write(attempt, give_up="the erasure kept conflicting with concurrent changes; retry")


def export_me(store: Store, principal: Principal, *, cursor: str | None) -> PersonExport:
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
            ProfileExport.of(p, store.consents_of(p.org_id, p.profile_id))
            for p in store.all_profiles_of_user(user.user_id)
        ],
        claims=open_claims,
        history=entries,
        next_cursor=next_cursor,
    )


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


def _activity_page(store: Store, user_id: str, part: dict[str, Any]) -> PersonExport:
    """One page of one profile's activity trail; the profiles in the order the first page listed them."""
    profiles = store.all_profiles_of_user(user_id)
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
    store: Store, principal: Principal, org_id: str, profile_id: str, *, cursor: str | None
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
