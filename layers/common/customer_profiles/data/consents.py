"""Consent statements, one item per purpose in the profile's partition (`CONSENT#<purpose>`), each written
only over an older one: the latest statement wins by time, whatever order they arrive in."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from customer_profiles.data import keys
from customer_profiles.data.codec import consent_from_item, consent_to_item, profile_from_item
from customer_profiles.data.lineage import add_move
from customer_profiles.data.profile_items import profile_holds
from customer_profiles.data.table import Records
from customer_profiles.data.tx import Tx
from customer_profiles.data.users import check_holder
from customer_profiles.errors import UserGone
from customer_profiles.models.activity import SYSTEM, Actor
from customer_profiles.models.consents import PURPOSES, ConsentStatement, instant
from customer_profiles.models.domain import Profile
from customer_profiles.ports.undo import merge_move

# A statement replaces the purpose's current one only if it ranks above it (docs/decisions.md, consent); one
# relayed by staff or a reseller never replaces the person's own.
NEWER = "attribute_not_exists(pk) OR #rank < :rank"
NEWER_AND_NOT_THE_PERSONS = "attribute_not_exists(pk) OR (#rank < :rank AND NOT #source IN (:app, :white_label))"


def add_consents(
    tx: Tx,
    org_id: str,
    profile_id: str,
    statements: Sequence[ConsentStatement],
    *,
    moved: tuple[str, Actor] | None = None,
) -> None:
    """Each statement, guarded: if a newer one is there (written since the caller read), the transaction is
    cancelled and the caller's retry reads again and leaves it out. `moved`: see `consent_to_item`."""
    for statement in statements:
        item = consent_to_item(org_id, profile_id, statement, moved=moved)
        if statement.by_the_person:
            tx.put(item, NEWER, rank=statement.rank)
        else:
            tx.put(item, NEWER_AND_NOT_THE_PERSONS, rank=statement.rank, app="app", white_label="white_label")


class ConsentRecords(Records):
    def consents_of(self, org_id: str, profile_id: str) -> dict[str, ConsentStatement]:
        """The profile's current statement per purpose (strongly consistent); a purpose never stated is absent."""
        return self.profile_and_consents(org_id, profile_id, with_profile=False)[1]

    def profile_and_consents(
        self, org_id: str, profile_id: str, *, with_profile: bool = True
    ) -> tuple[Profile | None, dict[str, ConsentStatement]]:
        """The profile and its statements in one strongly consistent BatchGetItem: the purposes are a closed
        set, so their keys are known."""
        wanted = [keys.consent_key(org_id, profile_id, purpose) for purpose in PURPOSES]
        profile_key = keys.profile_key(org_id, profile_id)
        found = self.db.batch_get([*wanted, *([profile_key] if with_profile else [])])
        profile = next((profile_from_item(i) for i in found if i["sk"] == profile_key["sk"]), None)
        statements = [consent_from_item(i) for i in found if i["sk"].startswith(keys.CONSENT_SK_PREFIX)]
        return profile, {s.purpose: s for s in statements}

    def record_consents(
        self, profile: Profile, statements: Sequence[ConsentStatement], *, holder_status: str | None = None
    ) -> None:
        """Statements that beat the current ones, under a profile still live (not merged, not merging) and still
        held as read: by the same user, and when `holder_status` is given, that user still in it (a statement
        relayed for a customer only while no person holds the profile)."""
        tx = self.db.tx()
        holds, values = profile_holds(profile.user_id)
        tx.check(keys.profile_key(profile.org_id, profile.profile_id), holds, **values)
        if profile.user_id and holder_status:
            # "active": the person themselves, whose user must still be (else UserGone: the id was stale)
            failing = UserGone("the caller's user is not active") if holder_status == "active" else None
            check_holder(tx, profile.user_id, holder_status, failing=failing)
        add_consents(tx, profile.org_id, profile.profile_id, statements)
        tx.execute(self.db.client)

    def forget_consents(self, org_id: str, profile_id: str) -> int:
        """An erased profile's statements, deleted: nobody is left to ask. Returns how many there were."""
        found = self.consents_of(org_id, profile_id)
        for statement in found.values():
            self._stamp_removal(org_id, profile_id, statement)
            self.db.table.delete_item(Key=keys.consent_key(org_id, profile_id, statement.purpose))
        return len(found)

    def _stamp_removal(self, org_id: str, profile_id: str, statement: ConsentStatement) -> None:
        """When and by whom a statement is removed, written on it just before: a delete carries neither, and
        the activity trail dates the removal by its old image (one UpdateItem, only for merges and erasures).
        Guarded by its rank: a statement replaced meanwhile is not stamped (and its delete is guarded too)."""
        self.db.update_if(
            keys.consent_key(org_id, profile_id, statement.purpose),
            "SET changed_at = :now, changed_by = :by",
            "#rank = :rank",
            now=instant(datetime.now(UTC)),
            by=SYSTEM.stamp(),
            rank=statement.rank,
        )

    def move_consents(self, source: Profile, target: Profile) -> int:
        """A merged profile's statements go to the profile it merges into, where each replaces the target's
        only if it ranks above it, and leave the source (each delete guarded by what was read): per
        purpose the later statement survives; the move keeps both sides, for an unmerge. Returns how many
        statements the source had."""
        wanted = [
            keys.consent_key(profile.org_id, profile.profile_id, purpose)
            for profile in (source, target)
            for purpose in PURPOSES
        ]
        found = self.db.batch_get(wanted)  # both profiles' statements in one read: the purposes are known
        theirs = {s.purpose: s for s in _statements_of(found, source)}
        if not theirs:
            return 0
        mine = {s.purpose: s for s in _statements_of(found, target)}
        for statement in theirs.values():
            self._stamp_removal(source.org_id, source.profile_id, statement)
        tx = self.db.tx()
        beating = [s for s in theirs.values() if s.beats(mine.get(s.purpose))]
        now = instant(datetime.now(UTC))
        add_consents(tx, target.org_id, target.profile_id, beating, moved=(now, SYSTEM))
        replaced = [mine[s.purpose] for s in beating if s.purpose in mine]
        add_move(tx, merge_move(source, target, now, consents=list(theirs.values()), replaced_consents=replaced))
        for statement in theirs.values():
            key = keys.consent_key(source.org_id, source.profile_id, statement.purpose)
            tx.delete(key, "#rank = :rank", rank=statement.rank)
        tx.execute(self.db.client)
        return len(theirs)


def _statements_of(items: Sequence[dict], profile: Profile) -> list[ConsentStatement]:
    pk = keys.profile_pk(profile.org_id, profile.profile_id)
    return [consent_from_item(i) for i in items if i["pk"] == pk]
