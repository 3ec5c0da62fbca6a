"""The profile aggregate: a profile and every item it implies, written through one function.

A live profile implies: its user-in-org uniqueness item (one profile per user per org), its entries in the
org's search (each email and phone captured, on it or on profiles merged into it, and each name part), and
a pointer per card fingerprint. Its org listing entry and its place among the user's profiles are the
profile item's own index keys. A merged profile implies nothing but itself. `add_profile_changes` is the
only writer: it diffs what the profiles implied before and after, in the profile's own transaction, with the
pending effects a change implies (a re-key when it changes hands, what an erasure leaves when it is erased).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from customer_profiles.data import keys
from customer_profiles.data.codec import Item, profile_to_item
from customer_profiles.data.pending import add_pending
from customer_profiles.data.tx import Tx
from customer_profiles.models.domain import Identifier, PendingEffect, Profile
from customer_profiles.ports.identity import ProfileChange, ProfileGuard

ItemKey = tuple[str, str]
# The profile a new child goes under must still be live and still belong to the child's user.
# An erased profile only parents what the org must account for: nothing new goes under it.
LIVE_PROFILE = (
    "attribute_exists(pk) AND attribute_not_exists(merged_into) AND attribute_not_exists(merging_into)"
    " AND attribute_not_exists(erased_at)"
)
UNIQUE_TYPES = frozenset({"user_org", "card"})  # items outside the profile's partition that one profile owns
SearchField = str  # "email", "phone" or "name"
# What each guard of a `ProfileChange` asks of the stored profile.
GUARDS: dict[ProfileGuard, str] = {
    "not_merged": "attribute_not_exists(merged_into)",
    "unowned": "attribute_not_exists(user_id)",
}


def profile_holds(user_id: str | None) -> tuple[str, dict[str, Any]]:
    """The condition that a live profile belongs to `user_id` (or to nobody), with its values."""
    if user_id:
        return f"{LIVE_PROFILE} AND user_id = :user", {"user": user_id}
    return f"{LIVE_PROFILE} AND attribute_not_exists(user_id)", {}


def search_entries(profile: Profile) -> list[tuple[str, SearchField, str]]:
    """(entry name, field, normalised value) for each value the org can search this profile by."""
    captured = profile.captured
    entries: list[tuple[str, SearchField, str]] = []
    if captured:
        for by, values in (
            ("email", [captured.email, *captured.other_emails]),
            ("phone", [captured.phone, *captured.other_phones]),
        ):
            entries += [(f"{by}#{v}", by, v) for v in dict.fromkeys(values) if v]
    names = {keys.search_name(getattr(profile.attributes, part) or ""): part for part in ("family_name", "given_name")}
    entries += [(f"name#{part}", "name", name) for name, part in names.items() if name]  # one entry per distinct name
    return entries


def captured_identifiers(profile: Profile) -> list[Identifier]:
    """Every email and phone staff or a reseller captured on the profile (or on profiles merged into it)."""
    return profile.captured.identifiers() if profile.captured else []


def implied_items(profile: Profile) -> dict[ItemKey, Item]:
    """Every item the profile implies besides itself, by key. Only stable fields, so an edit that does not
    touch them writes none of them. A merged profile implies only its hints (it still holds what it was
    captured with, which an erasure must find)."""
    org_id, profile_id = profile.org_id, profile.profile_id
    items: list[Item] = [
        {**keys.hint_key(identifier, org_id, profile_id), "type": "hint", "org_id": org_id, "profile_id": profile_id}
        for identifier in captured_identifiers(profile)
    ]
    if profile.merged_into:
        return {(i["pk"], i["sk"]): i for i in items}
    if profile.user_id:
        user_org = keys.user_org_key(profile.user_id, org_id)
        items.append({**user_org, "type": "user_org", "profile_id": profile_id, "created_at": profile.created_at})
    for entry, by, value in search_entries(profile):
        items.append(
            {
                **keys.search_key(org_id, profile_id, entry),
                "type": "search",
                "profile_id": profile_id,
                **keys.org_search_keys(org_id, profile_id, by, value),
            }
        )
    items += [{**keys.card_key(org_id, card), "type": "card", "profile_id": profile_id} for card in profile.cards]
    return {(i["pk"], i["sk"]): i for i in items}


def _changes_hands(change: ProfileChange) -> bool:
    """To another user, or (unlinked) to nobody; an erasure or a merge takes no new history keys."""
    before, after = change.before, change.after
    if before is None or after.user_id == before.user_id:
        return False
    return bool(after.user_id) or not (after.erased_at or after.merged_into)


def rekey_effect(profile: Profile) -> PendingEffect:
    """A profile changed hands: its orders and entitlements must join its new user's history (or, with no
    user now, leave every history)."""
    cause = {"org_id": profile.org_id, "profile_id": profile.profile_id, "user_id": profile.user_id}
    effect_id = f"{profile.org_id}#{profile.profile_id}#{profile.version}"
    return PendingEffect(kind="rekey_profile", effect_id=effect_id, cause=cause, created_at=profile.updated_at)


def _is_erased(change: ProfileChange) -> bool:
    return bool(change.after.erased_at and not (change.before and change.before.erased_at))


def pseudonymise_effect(profile: Profile) -> PendingEffect:
    """A profile was erased: its orders and entitlements must stop leading to its person (user id, history),
    and its consents and the idempotent answers about it must go. Written with the erasure, so a crash
    right after it loses none of that."""
    cause = {"org_id": profile.org_id, "profile_id": profile.profile_id}
    effect_id = f"{profile.org_id}#{profile.profile_id}#erased"
    return PendingEffect(kind="pseudonymise_profile", effect_id=effect_id, cause=cause, created_at=profile.updated_at)


def add_profile_changes(tx: Tx, changes: Sequence[ProfileChange], *, deleted: frozenset[ItemKey] = frozenset()) -> None:
    """The profiles, each over the version it was read at, and every implied item that appears, changes
    or goes. Changes are diffed together, so an item moving between two profiles (a card on a merge) is
    one guarded write. Uniqueness items are taken only if free or already this write's. `deleted`: implied
    items of the `before` profiles deleted already (by an erasure too large for one transaction)."""
    before: dict[ItemKey, Item] = {}
    after: dict[ItemKey, Item] = {}
    for change in changes:
        item = {**profile_to_item(change.after), "changed_by": change.changed_by.stamp()}
        if change.before is None:
            tx.put_if_new(item)
        else:
            tx.put_at_version(item, change.before.version, GUARDS[change.guard] if change.guard else None)
            before.update({k: v for k, v in implied_items(change.before).items() if k not in deleted})
        after.update(implied_items(change.after))
        if _changes_hands(change):
            add_pending(tx, rekey_effect(change.after))
        if _is_erased(change):
            add_pending(tx, pseudonymise_effect(change.after))
        if change.after.merged_into and not (change.before and change.before.merged_into):
            tx.put(lineage_item(change.after))
    add_implied_diff(tx, before, after)


def lineage_item(merged: Profile) -> Item:
    """The survivor remembers each profile merged into it: its person's erasure erases those too."""
    assert merged.merged_into
    return {
        **keys.merged_profile_key(merged.org_id, merged.merged_into, merged.profile_id),
        "type": "merged_profile",
        "profile_id": merged.profile_id,
        "merged_at": merged.updated_at,
    }


def add_implied_diff(tx: Tx, before: dict[ItemKey, Item], after: dict[ItemKey, Item]) -> None:
    """The writes that take implied items from `before` to `after`, uniqueness items guarded by their owner."""
    for key, item in after.items():
        old = before.get(key)
        if old == item:
            continue
        if item["type"] not in UNIQUE_TYPES:
            tx.put(item)
        elif old is None:
            tx.put_if_new(item)
        else:
            tx.put(item, "attribute_not_exists(pk) OR profile_id = :owner", owner=old["profile_id"])
    for key, old in before.items():
        if key in after:
            continue
        ref = {"pk": key[0], "sk": key[1]}
        if old["type"] in UNIQUE_TYPES:
            tx.delete(ref, "attribute_not_exists(pk) OR profile_id = :owner", owner=old["profile_id"])
        else:
            tx.delete(ref)
