"""The staff aggregate: an org's memberships, each also kept under its subject, and the org's admin count.

`write_membership_change` is the one writer: the membership in the org's partition, its copy in the subject's
partition (what the authorizer reads), and the roster when the number of admins changes, in one transaction
guarded by the versions they were read at.
"""

from __future__ import annotations

from collections.abc import Iterable

from customer_profiles.data import keys
from customer_profiles.data.codec import membership_from_item, membership_to_items
from customer_profiles.data.table import KeyCondition, Records
from customer_profiles.data.tx import Tx
from customer_profiles.errors import Forbidden
from customer_profiles.models.domain import StaffMembership
from customer_profiles.ports.staff import MembershipChange, StaffRoster


def add_membership_check(tx: Tx, org_id: str, subject: str, any_role: Iterable[str]) -> None:
    """The subject is, when the transaction commits, still staff of the org with one of `any_role` (the
    authorizer's answer, cached for minutes, only routed the request); else Forbidden, and nothing is written."""
    roles = sorted(any_role)
    condition = " OR ".join(f"contains(#roles, :role{i})" for i in range(len(roles)))
    tx.check(
        # the subject's own copy: its partition is the member's, so an on-sale's tills spread over as many keys
        keys.subject_membership_key(subject, org_id),
        condition,
        failing=Forbidden(f"requires one of the roles in this org now: {', '.join(roles)}"),
        **{f"role{i}": role for i, role in enumerate(roles)},
    )


class MembershipRecords(Records):
    def membership_and_roster(
        self, org_id: str, subject: str, *, acting: str | None = None
    ) -> tuple[StaffMembership | None, StaffRoster, StaffMembership | None]:
        """A member, the org's admin count and the acting member (when `acting` names one), in one strongly
        consistent read."""
        wanted = [keys.membership_key(org_id, subject), keys.staff_roster_key(org_id)]
        if acting:
            wanted.append(keys.membership_key(org_id, acting))
        found = {i["sk"]: i for i in self.db.batch_get(wanted)}
        member = found.get(keys.membership_key(org_id, subject)["sk"])
        caller = found.get(keys.membership_key(org_id, acting)["sk"]) if acting else None
        roster = found.get(keys.STAFF_ROSTER_SK)
        return (
            membership_from_item(member) if member else None,
            StaffRoster(int(roster["admins"]), int(roster["version"])) if roster else StaffRoster(),
            membership_from_item(caller) if caller else None,
        )

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
        acting = change.acting
        if acting is not None and acting.subject != (after or before or acting).subject:
            # Their own item is written below at the version read; anyone else's is checked at it (changed
            # meanwhile: the change is read again and decided on what the membership is now).
            tx.check(keys.membership_key(acting.org_id, acting.subject), "#version = :v", v=acting.version)
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
