"""The staff family's ports: who is staff of which org (memberships and the org's admin count), the store
whose writes check a member's authority as they commit, the org's settings, and the org's view of its
customers (domain.staff.org_console)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol, Self

from customer_profiles.models.activity import Actor
from customer_profiles.models.consents import ConsentStatement
from customer_profiles.models.domain import (
    Entitlement,
    EntitlementStatus,
    Holding,
    Identifier,
    Order,
    OrgSettings,
    Profile,
    StaffMembership,
)
from customer_profiles.ports.identity import ProfileAttachment, UserProfiles
from customer_profiles.ports.undo import ProfileUnmerging, Unlinking

# --- write plans ------------------------------------------------------------------------------------------


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
    # The admin making the change, as read with the rest: the change holds only while their membership is
    # still what was read (None: the operator).
    acting: StaffMembership | None = None

    @property
    def admins_after(self) -> int:
        def admin(m: StaffMembership | None) -> int:
            return int(m is not None and "admin" in m.roles)

        return self.roster.admins - admin(self.before) + admin(self.after)


# --- ports --------------------------------------------------------------------------------------------------


class StaffScoped(Protocol):
    """A store whose every write also checks, in its own transaction, that a staff member still holds one of
    `any_role` in the org (the authorizer's answer may be minutes old)."""

    def as_staff(self, org_id: str, subject: str, any_role: Iterable[str]) -> Self: ...


class UserStatuses(Protocol):
    """Whether a registered account holds a profile: all an org learns of a user."""

    def users_status(self, user_ids: Iterable[str]) -> dict[str, str]: ...


class OrgRegions(Protocol):
    """The region an org's phone numbers default to (a number without its country code)."""

    def org_default_region(self, org_id: str) -> str | None: ...


class StaffMemberships(Protocol):
    def membership_and_roster(
        self, org_id: str, subject: str, *, acting: str | None = None
    ) -> tuple[StaffMembership | None, StaffRoster, StaffMembership | None]: ...

    def memberships_of(self, subject: str) -> list[StaffMembership]: ...

    def org_staff_page(
        self, org_id: str, *, limit: int, cursor: str | None
    ) -> tuple[list[StaffMembership], str | None]: ...

    def write_membership_change(self, change: MembershipChange) -> None: ...


class OrgSettingsStore(StaffScoped, Protocol):
    def org_settings(self, org_id: str) -> OrgSettings: ...

    def write_settings(self, settings: OrgSettings, *, read_version: int, changed_by: Actor) -> None: ...


class OrgConsole(StaffScoped, UserStatuses, OrgRegions, UserProfiles, Protocol):
    """The org's view of its customers: listing, search, reading, editing, voiding, attaching identifiers."""

    def profile_and_consents(
        self, org_id: str, profile_id: str, *, with_profile: bool = True
    ) -> tuple[Profile | None, dict[str, ConsentStatement]]: ...

    def children_page(
        self, org_id: str, profile_id: str, *, limit: int, cursor: str | None
    ) -> tuple[list[Order], list[Entitlement], str | None]: ...

    def list_org_profiles(self, org_id: str, *, limit: int, cursor: str | None) -> tuple[list[Profile], str | None]: ...

    def search_profiles(
        self, org_id: str, by: str, value: str, *, limit: int, cursor: str | None
    ) -> tuple[list[Profile], str | None]: ...

    def get_entitlement(self, org_id: str, profile_id: str, entitlement_id: str) -> Entitlement | None: ...

    def set_entitlement_status(
        self, current: Entitlement, *, to: EntitlementStatus, changed_by: Actor = ..., at: str | None = None
    ) -> Entitlement: ...

    def identifier_holders(self, identifiers: Sequence[Identifier]) -> dict[Identifier, Holding]: ...

    def attach_profile_to_user(self, attachment: ProfileAttachment) -> None: ...


class ProfileUnlinking(Unlinking, StaffScoped, UserStatuses, Protocol):
    """An admin undoing a link: the staff-scoped store, and what the org's view of the profile needs."""


class UnmergeRequests(ProfileUnmerging, StaffScoped, Protocol):
    """An admin asking for a merged profile back (domain.identity.unmerge): read, marked, its effect written."""
