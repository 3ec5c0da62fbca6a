"""Who may act where. Staff act only inside the orgs they are members of; anything else looks like a missing
resource."""

from __future__ import annotations

from customer_profiles.errors import Forbidden, NotFound
from customer_profiles.models.activity import Actor
from customer_profiles.models.principal import Principal
from customer_profiles.ports.staff import StaffScoped


def require_staff_of(principal: Principal, org_id: str, *, any_role: frozenset[str]) -> None:
    """The path's org decides which of the caller's memberships applies."""
    roles = principal.roles_in(org_id)
    if not roles:
        # The same answer as a missing org: a caller learns nothing about orgs that are not theirs.
        raise NotFound("no such org")
    if not roles & any_role:
        raise Forbidden(f"requires one of the roles: {', '.join(sorted(any_role))}")


def staff_actor(principal: Principal, org_id: str, *, any_role: frozenset[str]) -> Actor:
    """The staff member as the activity trail shows them: their subject and the role they acted with."""
    return Actor.staff(principal.subject, min(principal.roles_in(org_id) & any_role, default="staff"))


def acting_staff[S: StaffScoped](store: S, principal: Principal, org_id: str, *, any_role: frozenset[str]) -> S:
    """`require_staff_of` on the authorizer's answer (it routes), and the store whose every write also checks,
    in its own transaction, that the membership still holds (the answer may be minutes old)."""
    require_staff_of(principal, org_id, any_role=any_role)
    return store.as_staff(org_id, principal.subject, any_role)
