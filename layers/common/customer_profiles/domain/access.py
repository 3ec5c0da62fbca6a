"""Who may act where. An org's staff act only inside their org; anything else looks like a missing resource."""

from __future__ import annotations

from customer_profiles.errors import Forbidden, NotFound
from customer_profiles.models.principal import Principal


def require_staff_of(principal: Principal, org_id: str, *, any_role: frozenset[str]) -> None:
    if principal.kind != "staff" or principal.org_id != org_id:
        # The same answer as a missing org: a caller learns nothing about orgs that are not theirs.
        raise NotFound("no such org")
    if not principal.roles & any_role:
        raise Forbidden(f"requires one of the roles: {', '.join(sorted(any_role))}")
