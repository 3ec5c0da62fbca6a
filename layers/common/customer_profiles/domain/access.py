"""Who may act where. Staff act only inside the orgs they are members of; anything else looks like a missing
resource."""

from __future__ import annotations

from customer_profiles.errors import Forbidden, NotFound
from customer_profiles.models.principal import Principal


def require_staff_of(principal: Principal, org_id: str, *, any_role: frozenset[str]) -> None:
    """The path's org decides which of the caller's memberships applies."""
    roles = principal.roles_in(org_id)
    if not roles:
        # The same answer as a missing org: a caller learns nothing about orgs that are not theirs.
        raise NotFound("no such org")
    if not roles & any_role:
        raise Forbidden(f"requires one of the roles: {', '.join(sorted(any_role))}")
