"""Staff memberships: who is staff of which org, with which roles. The service keeps them; the identity
provider only authenticates, and no token claim grants a role.

An org's first admin comes from the operator (`add-staff`); from then on its admins manage its staff. An org
never loses its last admin: every change of an admin role goes through the org's roster (its admin count)
in the same transaction, so two admins demoting each other at once cannot both succeed.
"""

from __future__ import annotations

from customer_profiles.clock import utc_now
from customer_profiles.domain.staff.access import require_staff_of
from customer_profiles.errors import Forbidden, NotFound, StateConflict
from customer_profiles.models.domain import StaffMembership, StaffRole
from customer_profiles.models.principal import Principal
from customer_profiles.ports.staff import MembershipChange, StaffMemberships
from customer_profiles.retry import on_concurrent_write

ADMINS = frozenset({"admin"})
OPERATOR = "operator"
# The authorizer hands every membership of a subject to the handlers in API Gateway's context: bounded.
MAX_ORGS_PER_SUBJECT = 100


def list_staff(
    store: StaffMemberships, principal: Principal, org_id: str, *, limit: int, cursor: str | None
) -> tuple[list[StaffMembership], str | None]:
    require_staff_of(principal, org_id, any_role=ADMINS)
    return store.org_staff_page(org_id, limit=limit, cursor=cursor)


def put_staff(
    store: StaffMemberships, principal: Principal, org_id: str, subject: str, roles: list[StaffRole]
) -> tuple[StaffMembership, bool]:
    """An org admin grants (or changes) a subject's roles; returns (membership, created). The admin's own
    membership is read with the change and checked in its transaction: a cached answer decides nothing."""
    require_staff_of(principal, org_id, any_role=ADMINS)
    return grant(store, org_id, subject, roles, granted_by=principal.subject, acting=principal.subject)


def remove_staff(store: StaffMemberships, principal: Principal, org_id: str, subject: str) -> None:
    require_staff_of(principal, org_id, any_role=ADMINS)
    revoke(store, org_id, subject, acting=principal.subject)


def grant(
    store: StaffMemberships,
    org_id: str,
    subject: str,
    roles: list[StaffRole],
    *,
    granted_by: str = OPERATOR,
    acting: str | None = None,
) -> tuple[StaffMembership, bool]:
    """Set a subject's roles in an org (the operator's `add-staff` calls this directly, `acting` None)."""
    wanted: list[StaffRole] = sorted(set(roles))

    def once() -> tuple[StaffMembership, bool]:
        current, roster, caller = store.membership_and_roster(org_id, subject, acting=acting)
        _require_admin(caller, acting)
        if current is not None and current.roles == wanted:
            return current, False  # a repeated PUT changes nothing
        if current is None and len(store.memberships_of(subject)) >= MAX_ORGS_PER_SUBJECT:
            raise StateConflict(f"a subject may be staff of at most {MAX_ORGS_PER_SUBJECT} orgs")
        after = StaffMembership(
            org_id=org_id,
            subject=subject,
            roles=wanted,
            granted_by=granted_by,
            granted_at=utc_now(),
            version=current.version + 1 if current else 1,
        )
        _write(store, MembershipChange(before=current, after=after, roster=roster, acting=caller))
        return after, current is None

    return on_concurrent_write(once, give_up="the org's staff kept changing; retry")


def revoke(store: StaffMemberships, org_id: str, subject: str, *, acting: str | None = None) -> None:
    def once() -> None:
        current, roster, caller = store.membership_and_roster(org_id, subject, acting=acting)
        _require_admin(caller, acting)
        if current is None:
            raise NotFound("no such staff member")
        _write(store, MembershipChange(before=current, after=None, roster=roster, acting=caller))

    on_concurrent_write(once, give_up="the org's staff kept changing; retry")


def _require_admin(caller: StaffMembership | None, acting: str | None) -> None:
    """The acting member's rights as the table has them now (strongly consistent), not as the authorizer's
    cached answer said: a revoked admin changes nothing."""
    if acting is None:
        return  # the operator
    if caller is None:
        raise NotFound("no such org")
    if "admin" not in caller.roles:
        raise Forbidden("requires one of the roles: admin")


def _write(store: StaffMemberships, change: MembershipChange) -> None:
    if change.admins_after < 1 and change.roster.admins >= 1:
        raise StateConflict("an org keeps at least one admin: grant another admin first")
    store.write_membership_change(change)
