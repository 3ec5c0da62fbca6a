"""The identity family's ports: users and the identifiers they hold, profiles (one per user per org), the
link that follows a merge of users, and the proofs that bring sales to a person; with the write plans those
use cases hand to the data layer."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from customer_profiles.models.activity import SYSTEM, Actor
from customer_profiles.models.domain import (
    Claim,
    Entitlement,
    Holding,
    Identifier,
    Move,
    Order,
    PendingEffect,
    Profile,
    Proof,
    User,
)

# --- write plans ------------------------------------------------------------------------------------------


@dataclass
class RegistrationWrite:
    """A sign-up or sign-in: the user (new, activated or updated) and the dormant users merged into it."""

    subject: str | None  # set when this registration maps the subject for the first time
    previous: User | None  # the stored state `user` replaces (None: a new user)
    user: User
    claimed_identifiers: list[Identifier] = field(default_factory=list)  # verified, held by nobody yet
    taken_over: list[tuple[Identifier, str]] = field(default_factory=list)  # verified, from this dormant holder
    released: list[tuple[Identifier, str]] = field(default_factory=list)  # hints of activated or merged dormants
    merged: list[tuple[User, User]] = field(default_factory=list)  # (dormant as read, merged)

    @property
    def proven(self) -> list[Identifier]:
        """What this registration proved that the person did not hold before."""
        return [*self.claimed_identifiers, *(i for i, _ in self.taken_over)]


def identifiers_of(user: User) -> list[Identifier]:
    """The email and phone the user item shows."""
    found: list[Identifier] = []
    if user.email:
        found.append(("email", user.email))
    if user.phone:
        found.append(("phone", user.phone))
    return found


# A further condition on the stored profile a change is written over: `not_merged`, it was not merged
# meanwhile (its children would strand); `unowned`, no user holds it yet.
ProfileGuard = Literal["not_merged", "unowned"]


@dataclass(frozen=True)
class ProfileChange:
    """One profile written: `before` as it was read (None: a new profile), `after` as it will be.

    `guard` holds the write to a further state of the stored profile. `changed_by` is stamped on the item, so
    the stream (and the activity trail) knows who wrote it.
    """

    before: Profile | None
    after: Profile
    guard: ProfileGuard | None = None
    changed_by: Actor = SYSTEM


@dataclass(frozen=True)
class ProfileAttachment:
    """An orphan profile given to the holder of an identifier staff attached, with what that decision read."""

    profile: Profile  # as read
    updated: Profile
    new_holder: User | None  # a dormant holder made for the identifier
    claimed: Sequence[Identifier]  # what the new holder holds
    holder: User | None  # the existing holder, as read
    holdings: Mapping[Identifier, Holding | None]  # who held each identifier, as read
    proof: Proof
    changed_by: Actor = SYSTEM


@dataclass(frozen=True)
class TypedSale:
    """A pointer to a sale typed with an identifier, under the profile it was placed in (or moved from)."""

    org_id: str
    profile_id: str
    order_id: str
    order_created_at: str
    entitlement_ids: tuple[str, ...]
    typed: tuple[Identifier, ...]
    # The sale went to a person when it was made: its placement weighed every proof made before it.
    placed_with_person: bool = False


@dataclass(frozen=True)
class TypedSaleMove:
    """A typed sale (an order and its entitlements) going from `source` to `target`, the profile of the person
    who proved `identifier` first, as each was read: the move commits only if the source is still `holder`'s,
    the holder unchanged, the target the person's."""

    order: Order
    typed: TypedSale
    identifier: Identifier  # the proof that moves it
    source: Profile
    holder: User | None
    target: Profile
    claim: Claim | None = None  # the sale's open claim (a reseller's order), which follows it


# --- ports --------------------------------------------------------------------------------------------------


class SubjectUsers(Protocol):
    """The caller's user: the subject's mapping, read again when the authorizer's cached answer may be stale."""

    def user_id_for_subject(self, subject: str) -> str | None: ...

    def get_user(self, user_id: str) -> User | None: ...


class Registrations(SubjectUsers, Protocol):
    """Sign-up and sign-in from verified claims, and what a user holds."""

    def identifier_holders(self, identifiers: Sequence[Identifier]) -> dict[Identifier, Holding]: ...

    def users_by_ids(self, user_ids: Iterable[str]) -> dict[str, User]: ...

    def identifiers_held_by(self, user_id: str) -> list[tuple[Identifier, Proof]]: ...

    def write_registration(self, plan: RegistrationWrite) -> None: ...

    def release_identifiers(self, previous: User, user: User, identifiers: Sequence[Identifier]) -> None: ...


class ProfileReads(Protocol):
    """A profile as it is now (strongly consistent)."""

    def get_profile(self, org_id: str, profile_id: str) -> Profile | None: ...


class UserProfiles(SubjectUsers, ProfileReads, Protocol):
    """A user's profile in an org: found, created exactly once, edited over the version read."""

    def profile_id_of_user_in_org(self, user_id: str, org_id: str) -> str | None: ...

    def create_user_profile(self, profile: Profile, changed_by: Actor = ...) -> None: ...

    def replace_profile(self, current: Profile, updated: Profile, changed_by: Actor = ...) -> None: ...


class AppClients(Protocol):
    """The org a white-label app client belongs to."""

    def org_of_app_client(self, client_id: str) -> str | None: ...


class SignUps(Registrations, UserProfiles, AppClients, Protocol):
    """PUT /v1/me: the user, and through a white-label app its profile in the app's org."""


class UserHistory(SubjectUsers, Protocol):
    """A user's profiles and transaction history across orgs."""

    def profiles_of_user(self, user_id: str, *, limit: int, cursor: str | None) -> tuple[list[Profile], str | None]: ...

    def history_of_user(
        self, user_id: str, *, org_id: str | None, limit: int, cursor: str | None
    ) -> tuple[list[Order | Entitlement], str | None]: ...


class LineageErasure(ProfileReads, Protocol):
    """Profiles erased in place, with every profile that ever merged into them."""

    def profiles_by_ids(self, org_id: str, profile_ids: Sequence[str]) -> list[Profile]: ...

    def all_profiles_of_user(self, user_id: str) -> list[Profile]: ...

    def merged_profile_ids(self, org_id: str, profile_id: str) -> list[str]: ...

    def erase_profile(
        self, current: Profile, erased: Profile, changed_by: Actor, announce: PendingEffect | None
    ) -> None: ...

    def forget_moves_of_profile(self, org_id: str, profile_id: str) -> int: ...


class ProfileLinking(LineageErasure, Protocol):
    """A merged user's profiles following the person: moved, or merged into the person's in the same org."""

    def users_by_ids(self, user_ids: Iterable[str]) -> dict[str, User]: ...

    def profiles_of_user_in_orgs(self, user_id: str, org_ids: Sequence[str]) -> dict[str, Profile]: ...

    def user_has_profiles(self, user_id: str) -> bool: ...

    def move_profile_to_user(self, profile: Profile, to_user_id: str, now: str, *, reached_at: str) -> Profile: ...

    def write_profiles(
        self, *changes: ProfileChange, announce: PendingEffect | None = None, moves: Sequence[Move] = ()
    ) -> None: ...

    def move_all_children(self, source: Profile, target: Profile, *, since: str | None = None) -> int: ...

    def move_consents(self, source: Profile, target: Profile) -> int: ...


class SaleProofs(UserProfiles, Protocol):
    """What a person's proof of an identifier brings: the sales typed with it, found by their pointers."""

    def typed_sales(self, identifier: Identifier) -> list[TypedSale]: ...

    def drop_typed_sale(self, identifier: Identifier, typed: TypedSale) -> None: ...

    def forget_typed(self, identifier: Identifier, order: Order) -> bool: ...

    def get_order(self, org_id: str, profile_id: str, created_at: str, order_id: str) -> Order | None: ...

    def get_claim(self, token_hash: str) -> Claim | None: ...

    def move_sale(self, move: TypedSaleMove, *, reached_at: str) -> None: ...
