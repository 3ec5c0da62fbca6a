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
from customer_profiles.data.codec import (
    Item,
    decode_cursor,
    decode_key_cursor,
    encode_cursor,
    is_key_value,
    profile_from_item,
    profile_to_item,
)
from customer_profiles.data.pending import add_pending
from customer_profiles.data.table import KeyCondition, Records
from customer_profiles.data.tx import Tx
from customer_profiles.data.users import add_identifiers, add_user, check_active, check_holding
from customer_profiles.errors import InvalidInput, UserGone
from customer_profiles.models.activity import SYSTEM, Actor
from customer_profiles.models.domain import Identifier, PendingEffect, Profile
from customer_profiles.ports.identity import ProfileAttachment, ProfileChange, ProfileGuard

ItemKey = tuple[str, str]
# The profile a new child goes under must still be live and still belong to the child's user.
# An erased profile only parents what the org must account for: nothing new goes under it.
LIVE_PROFILE = (
    "attribute_exists(pk) AND attribute_not_exists(merged_into) AND attribute_not_exists(merging_into)"
    " AND attribute_not_exists(erased_at)"
)
ERASE_DELETES = 90  # implied items an erasure deletes per transaction (DynamoDB takes 100 items)
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
    captured = profile.captured
    if captured is None:
        return []
    emails: list[Identifier] = [("email", v) for v in (captured.email, *captured.other_emails) if v]
    phones: list[Identifier] = [("phone", v) for v in (captured.phone, *captured.other_phones) if v]
    return list(dict.fromkeys([*emails, *phones]))


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
    return bool(change.before and change.after.user_id and change.after.user_id != change.before.user_id)


def rekey_effect(profile: Profile) -> PendingEffect:
    """A profile changed hands: its orders and entitlements must join its new user's history."""
    assert profile.user_id
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
    _add_implied_diff(tx, before, after)


def lineage_item(merged: Profile) -> Item:
    """The survivor remembers each profile merged into it: its person's erasure erases those too."""
    assert merged.merged_into
    return {
        **keys.merged_profile_key(merged.org_id, merged.merged_into, merged.profile_id),
        "type": "merged_profile",
        "profile_id": merged.profile_id,
        "merged_at": merged.updated_at,
    }


def _add_implied_diff(tx: Tx, before: dict[ItemKey, Item], after: dict[ItemKey, Item]) -> None:
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


class ProfileRecords(Records):
    def get_profile(self, org_id: str, profile_id: str) -> Profile | None:
        item = self.db.get(keys.profile_key(org_id, profile_id))
        return profile_from_item(item) if item else None

    def user_profile_candidate(self, user_id: str, org_id: str) -> Profile | None:
        """The user's profile in the org as the by-user index has it, in one Query: a candidate only (the
        index lags its table), for a write whose own condition checks that it still holds."""
        user_profile = keys.user_profiles_keys(user_id, org_id)
        items = self.db.table.query(
            IndexName=keys.BY_USER_INDEX,
            KeyConditionExpression=KeyCondition("gsi1pk").eq(user_profile["gsi1pk"])
            & KeyCondition("gsi1sk").eq(user_profile["gsi1sk"]),
        )["Items"]
        return profile_from_item(items[0]) if items else None

    def profile_id_of_user_in_org(self, user_id: str, org_id: str) -> str | None:
        item = self.db.get(keys.user_org_key(user_id, org_id))
        return item["profile_id"] if item else None

    def profile_id_of_card(self, org_id: str, fingerprint: str) -> str | None:
        item = self.db.get(keys.card_key(org_id, fingerprint))
        return item["profile_id"] if item else None

    def profiles_by_ids(self, org_id: str, profile_ids: Sequence[str]) -> list[Profile]:
        """Strongly consistent, in the order asked; ids without a profile are left out."""
        wanted = list(dict.fromkeys(profile_ids))
        found = self.db.batch_get([keys.profile_key(org_id, p) for p in wanted])
        by_id = {i["profile_id"]: profile_from_item(i) for i in found}
        return [by_id[p] for p in wanted if p in by_id]

    def write_profiles(self, *changes: ProfileChange, announce: PendingEffect | None = None) -> None:
        """The profiles and everything they imply, with an event to `announce` in the same transaction."""
        tx = self.db.tx()
        add_profile_changes(tx, changes)
        if announce:
            add_pending(tx, announce)
        tx.execute(self.db.client)

    def profiles_of_user(self, user_id: str, *, limit: int, cursor: str | None) -> tuple[list[Profile], str | None]:
        items, next_cursor = self.page(
            keys.BY_USER_INDEX,
            ("gsi1pk", f"{keys.USER_PREFIX}{user_id}"),
            ("gsi1sk", keys.PROFILE_BY_USER_PREFIX),
            limit=limit,
            cursor=cursor,
            forward=True,
        )
        return [profile_from_item(i) for i in items], next_cursor

    def profiles_of_user_in_orgs(self, user_id: str, org_ids: Sequence[str]) -> dict[str, Profile]:
        """The user's profile in each of `org_ids` that has one, by org: its user-in-org items, then the
        profiles (two strongly consistent BatchGetItems, whatever the number of orgs)."""
        if not org_ids:
            return {}
        pointers = self.db.batch_get([keys.user_org_key(user_id, o) for o in dict.fromkeys(org_ids)])
        found = self.db.batch_get(
            [keys.profile_key(i["sk"].removeprefix(keys.PROFILE_BY_USER_PREFIX), i["profile_id"]) for i in pointers]
        )
        return {p.org_id: p for p in (profile_from_item(i) for i in found)}

    def user_has_profiles(self, user_id: str) -> bool:
        """Whether any profile still names the user in its user-in-org item (one strongly consistent Query)."""
        key = keys.user_key(user_id)
        condition = KeyCondition("pk").eq(key["pk"]) & KeyCondition("sk").begins_with(keys.PROFILE_BY_USER_PREFIX)
        return bool(self.db.table.query(KeyConditionExpression=condition, ConsistentRead=True, Limit=1)["Items"])

    def all_profiles_of_user(self, user_id: str) -> list[Profile]:
        """Every profile of the user, from the base table: its user-in-org items (a strongly consistent
        Query on the user's partition, every page), then the profiles (strongly consistent)."""
        key = keys.user_key(user_id)
        condition = KeyCondition("pk").eq(key["pk"]) & KeyCondition("sk").begins_with(keys.PROFILE_BY_USER_PREFIX)
        items = self.db.query_all(KeyConditionExpression=condition, ConsistentRead=True)
        found = self.db.batch_get(
            [keys.profile_key(i["sk"].removeprefix(keys.PROFILE_BY_USER_PREFIX), i["profile_id"]) for i in items]
        )
        return sorted((profile_from_item(i) for i in found), key=lambda p: p.org_id)

    def list_org_profiles(self, org_id: str, *, limit: int, cursor: str | None) -> tuple[list[Profile], str | None]:
        """Newest first across the listing shards. The cursor carries each shard's position, so a page
        neither skips nor repeats a profile, however the profiles fall into shards."""
        positions, done = _listing_position(org_id, cursor)
        taken: list[tuple[int, Item]] = []
        more: dict[int, bool] = {}
        for shard in range(keys.ORG_LISTING_SHARDS):
            if done[shard]:
                continue
            condition: Any = KeyCondition("gsi2pk").eq(keys.listing_shard_pk(org_id, shard))
            if positions[shard]:
                condition = condition & KeyCondition("gsi2sk").lt(positions[shard])
            response = self.db.table.query(
                IndexName=keys.BY_ORG_INDEX, KeyConditionExpression=condition, ScanIndexForward=False, Limit=limit + 1
            )
            taken += [(shard, item) for item in response["Items"]]
            more[shard] = "LastEvaluatedKey" in response or len(response["Items"]) > limit
        taken.sort(key=lambda pair: pair[1]["gsi2sk"], reverse=True)
        page = taken[:limit]
        for shard, item in page:
            positions[shard] = item["gsi2sk"]
        for shard, more_in_table in more.items():
            consumed = sum(1 for s, _ in page if s == shard)
            remaining = sum(1 for s, _ in taken if s == shard) - consumed
            done[shard] = not (remaining or more_in_table)
        next_cursor = None if all(done) else encode_cursor({"org": org_id, "after": positions, "done": done})
        return [profile_from_item(item) for _, item in page], next_cursor

    def search_profiles(
        self, org_id: str, by: SearchField, value: str, *, limit: int, cursor: str | None
    ) -> tuple[list[Profile], str | None]:
        """Profiles whose email or phone is `value`, or one of whose names starts with it.

        The index finds candidates; each is confirmed on the profile as it is now (strongly consistent),
        and a profile is answered only at its first matching entry, so it appears once across pages.
        """
        if by == "name":
            value = keys.search_name(value)
        pk = keys.org_search_pk(org_id, by, value)
        condition: Any = KeyCondition("gsi2pk").eq(pk)
        if by == "name":
            condition = condition & KeyCondition("gsi2sk").begins_with(value)
        arguments: dict[str, Any] = {"IndexName": keys.BY_ORG_INDEX, "KeyConditionExpression": condition}
        start = decode_key_cursor(
            cursor, partition_attribute="gsi2pk", partition_value=pk, sort_prefix=value if by == "name" else ""
        )
        if start:
            arguments["ExclusiveStartKey"] = start
        found: list[Profile] = []
        for response in self.db.query_pages(**arguments, Limit=limit):
            entries = response["Items"]
            current = {p.profile_id: p for p in self.profiles_by_ids(org_id, [e["profile_id"] for e in entries])}
            for position, entry in enumerate(entries):
                profile = current.get(entry["profile_id"])
                if profile and _first_match(profile, pk, by, value) == entry["gsi2sk"]:
                    found.append(profile)
                if len(found) == limit:
                    if position == len(entries) - 1 and "LastEvaluatedKey" not in response:
                        return found, None
                    resume = {k: entry[k] for k in ("pk", "sk", "gsi2pk", "gsi2sk")}
                    return found, encode_cursor(resume)
        return found, None


def _first_match(profile: Profile, pk: str, by: SearchField, value: str) -> str | None:
    matches = [
        item["gsi2sk"]
        for item in implied_items(profile).values()
        if item["type"] == "search"
        and item["gsi2pk"] == pk
        and (item["gsi2sk"].startswith(value) if by == "name" else item["gsi2sk"] == f"{value}#{profile.profile_id}")
    ]
    return min(matches, default=None)


def _listing_position(org_id: str, cursor: str | None) -> tuple[list[str | None], list[bool]]:
    shards = keys.ORG_LISTING_SHARDS
    if not cursor:
        return [None] * shards, [False] * shards
    position = decode_cursor(cursor)
    valid = (
        isinstance(position, dict)
        and position.get("org") == org_id
        and isinstance(position.get("after"), list)
        and isinstance(position.get("done"), list)
        and len(position["after"]) == len(position["done"]) == shards
        and all(p is None or is_key_value(p) for p in position["after"])
        and all(isinstance(d, bool) for d in position["done"])
    )
    if not valid:
        raise InvalidInput("invalid cursor", field="cursor")
    return list(position["after"]), list(position["done"])


class ProfileWrites(ProfileRecords):
    """The ways a profile changes; each goes through `add_profile_changes`."""

    def create_user_profile(self, profile: Profile, changed_by: Actor = SYSTEM) -> None:
        """A user's profile in an org: a second one for the same pair loses on its uniqueness item; only for a
        user still active (one being erased takes nothing new: UserGone)."""
        tx = self.db.tx()
        add_profile_changes(tx, [ProfileChange(None, profile, changed_by=changed_by)])
        if profile.user_id:
            check_active(tx, profile.user_id, UserGone("the user is gone"))
        tx.execute(self.db.client)

    def erase_profile(
        self, current: Profile, erased: Profile, changed_by: Actor, announce: PendingEffect | None
    ) -> None:
        """`current` becomes `erased` (nothing that leads to its person left) with every item it implied gone.
        A profile that absorbed many emails or cards implies more than one transaction holds: those items
        are deleted first, in transactions of `ERASE_DELETES` (each delete as guarded as in the diff, so a
        retry after a crash deletes what is left), then the profile and the rest in one."""
        gone = [key for key in implied_items(current) if key not in implied_items(erased)]
        early = gone[: max(0, len(gone) - ERASE_DELETES)]
        before = implied_items(current)
        for start in range(0, len(early), ERASE_DELETES):
            tx = self.db.tx()
            _add_implied_diff(tx, {k: before[k] for k in early[start : start + ERASE_DELETES]}, {})
            tx.execute(self.db.client)
        tx = self.db.tx()
        add_profile_changes(tx, [ProfileChange(current, erased, changed_by=changed_by)], deleted=frozenset(early))
        if announce:
            add_pending(tx, announce)
        tx.execute(self.db.client)

    def replace_profile(self, current: Profile, updated: Profile, changed_by: Actor = SYSTEM) -> None:
        """Write `updated` only if the stored profile is still at `current.version`."""
        self.write_profiles(ProfileChange(current, updated, changed_by=changed_by))

    def attach_profile_to_user(self, attachment: ProfileAttachment) -> None:
        """An orphan profile becomes a user's (a new dormant one, or the holder of its identifiers), only if
        every identifier is still held as read and the holder unchanged (not merged meanwhile)."""
        updated = attachment.updated
        assert updated.user_id
        tx = self.db.tx()
        change = ProfileChange(attachment.profile, updated, "unowned", attachment.changed_by)
        add_profile_changes(tx, [change])
        if attachment.new_holder:
            add_user(tx, None, attachment.new_holder)
        elif attachment.holder:
            tx.check(keys.user_key(attachment.holder.user_id), "#version = :v", v=attachment.holder.version)
        add_identifiers(tx, attachment.claimed, updated.user_id, attachment.proof)
        for identifier, holding in attachment.holdings.items():
            if identifier not in attachment.claimed:
                check_holding(tx, identifier, holding)
        tx.execute(self.db.client)

    def move_profile_to_user(self, profile: Profile, to_user_id: str, now: str, *, reached_at: str) -> Profile:
        """Re-parent a live profile (still at the version read) to another user, whom it reached at
        `reached_at` (the proof that brought it), only while that user is active (an erasure that began
        meanwhile has listed its profiles: UserGone)."""
        update = {"user_id": to_user_id, "updated_at": now, "version": profile.version + 1, "reached_at": reached_at}
        moved = profile.model_copy(update=update)
        tx = self.db.tx()
        add_profile_changes(tx, [ProfileChange(profile, moved, "not_merged")])
        check_active(tx, to_user_id, UserGone("the user is gone"))
        tx.execute(self.db.client)
        return moved
