"""The staff aggregate: an org's memberships, each also kept under its subject, and the org's admin count.

`write_membership_change` is the one writer: the membership in the org's partition, its copy in the subject's
partition (what the authorizer reads), and the roster when the number of admins changes, in one transaction
guarded by the versions they were read at.
"""

from __future__ import annotations

from dataclasses import dataclass

from customer_profiles.data import keys
from customer_profiles.data.codec import membership_from_item, membership_to_items
from customer_profiles.data.table import KeyCondition, Records
from customer_profiles.models.domain import StaffMembership


@dataclass(frozen=True)
class StaffRoster:
    """An org's admin count, at the version it was read."""

    admins: int = 0
    version: int = 0  # 0: never written


@dataclass(frozen=True)
class MembershipChange:
    before: StaffMembership | None  # as read (None: a new member)
    after: StaffMembership | None  # None: removed
    roster: StaffRoster  # as read

    @property
    def admins_after(self) -> int:
        def admin(m: StaffMembership | None) -> int:
            return int(m is not None and "admin" in m.roles)

        return self.roster.admins - admin(self.before) + admin(self.after)


class StaffRecords(Records):
    def membership_and_roster(self, org_id: str, subject: str) -> tuple[StaffMembership | None, StaffRoster]:
        """A member and the org's admin count, in one strongly consistent read."""
        found = self.db.batch_get([keys.membership_key(org_id, subject), keys.staff_roster_key(org_id)])
        membership = next((membership_from_item(i) for i in found if i["sk"] != keys.STAFF_ROSTER_SK), None)
        roster = next((i for i in found if i["sk"] == keys.STAFF_ROSTER_SK), None)
        return membership, StaffRoster(int(roster["admins"]), int(roster["version"])) if roster else StaffRoster()

    def memberships_of(self, subject: str) -> list[StaffMembership]:
        """Every org of a subject, complete and strongly consistent (the authorizer decides on it)."""
        items = self.db.query_all(
            KeyConditionExpression=KeyCondition("pk").eq(keys.subject_memberships_pk(subject)), ConsistentRead=True
        )
        return [membership_from_item(item) for item in items]

    def org_staff_page(
        self, org_id: str, *, limit: int, cursor: str | None
    ) -> tuple[list[StaffMembership], str | None]:
        partition, members = ("pk", keys.staff_pk(org_id)), ("sk", keys.MEMBER_SK_PREFIX)
        items, next_cursor = self.page(None, partition, members, limit=limit, cursor=cursor, forward=True)
        return [membership_from_item(item) for item in items], next_cursor

    def write_membership_change(self, change: MembershipChange) -> None:
        tx = self.db.tx()
        before, after = change.before, change.after
        if after is not None:
            org_item, subject_item = membership_to_items(after)
            if before is None:
                tx.put_if_new(org_item)
            else:
                tx.put_at_version(org_item, before.version)
            tx.put(subject_item)
        elif before is not None:
            tx.delete(keys.membership_key(before.org_id, before.subject), "#version = :v", v=before.version)
            tx.delete(keys.subject_membership_key(before.subject, before.org_id))
        member = after or before
        if member is not None and change.admins_after != change.roster.admins:
            roster = change.roster
            item = {
                **keys.staff_roster_key(member.org_id),
                "type": "staff_roster",
                "admins": change.admins_after,
                "version": roster.version + 1,
            }
            if roster.version:
                tx.put_at_version(item, roster.version)
            else:
                tx.put_if_new(item)
        tx.execute(self.db.client)
