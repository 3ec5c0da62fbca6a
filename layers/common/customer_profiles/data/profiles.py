"""Profiles read (by id, by user, by card, the org's listing and search) and written: every write goes through
`add_profile_changes` (data/profile_items.py), which keeps what a profile implies in step with it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from customer_profiles.data import keys
from customer_profiles.data.codec import Item, profile_from_item
from customer_profiles.data.cursors import MergedCursor, decode_key_cursor, encode_cursor, is_key_value
from customer_profiles.data.lineage import add_move
from customer_profiles.data.pending import add_pending
from customer_profiles.data.profile_items import SearchField, add_implied_diff, add_profile_changes, implied_items
from customer_profiles.data.table import KeyCondition, Records
from customer_profiles.data.users import add_identifiers, add_user, check_active, check_holding
from customer_profiles.errors import UserGone
from customer_profiles.models.activity import SYSTEM, Actor
from customer_profiles.models.domain import Move, PendingEffect, Profile
from customer_profiles.ports.identity import ProfileAttachment, ProfileChange
from customer_profiles.ports.undo import profile_move

ERASE_DELETES = 90  # implied items an erasure deletes per transaction (DynamoDB takes 100 items)


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

    def write_profiles(
        self, *changes: ProfileChange, announce: PendingEffect | None = None, moves: Sequence[Move] = ()
    ) -> None:
        """The profiles and everything they imply, with an event to `announce` and the `moves` they make kept,
        in the same transaction."""
        tx = self.db.tx()
        add_profile_changes(tx, changes)
        if announce:
            add_pending(tx, announce)
        for move in moves:
            add_move(tx, move)
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
        position: MergedCursor[str] = MergedCursor.decode(
            cursor, {"org": org_id}, sources=keys.ORG_LISTING_SHARDS, valid_start=lambda _, after: is_key_value(after)
        )
        positions, done = list(position.starts), list(position.done)
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
        return [profile_from_item(item) for _, item in page], position.advanced(positions, done).encode()

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
            add_implied_diff(tx, {k: before[k] for k in early[start : start + ERASE_DELETES]}, {})
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
        every identifier is still held as read and the holder unchanged (not merged meanwhile). The attach is
        kept, for an admin to undo it."""
        updated = attachment.updated
        assert updated.user_id
        tx = self.db.tx()
        change = ProfileChange(attachment.profile, updated, "unowned", attachment.changed_by)
        add_profile_changes(tx, [change])
        add_move(tx, profile_move(attachment.profile, updated, "attach", by=attachment.changed_by, proof="staff"))
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
        meanwhile has listed its profiles: UserGone). The link is kept, for an admin to undo it."""
        update = {"user_id": to_user_id, "updated_at": now, "version": profile.version + 1, "reached_at": reached_at}
        moved = profile.model_copy(update=update)
        tx = self.db.tx()
        add_profile_changes(tx, [ProfileChange(profile, moved, "not_merged")])
        check_active(tx, to_user_id, UserGone("the user is gone"))
        add_move(tx, profile_move(profile, moved, "link", by=SYSTEM, proof="identifier"))
        tx.execute(self.db.client)
        return moved
