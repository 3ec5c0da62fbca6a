"""The undo family's ports (docs/decisions.md, undo): the moves kept as lineage read back, a sale disowned, a
profile unlinked, a merged profile restored; with the write plans those use cases hand to the data layer."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from customer_profiles.clock import time_ordered_id
from customer_profiles.models.activity import SYSTEM, Actor
from customer_profiles.models.consents import ConsentStatement
from customer_profiles.models.domain import (
    Claim,
    Entitlement,
    Holding,
    Identifier,
    Move,
    MoveKind,
    MoveSubject,
    Order,
    PendingEffect,
    Profile,
    Proof,
    User,
)
from customer_profiles.ports.identity import ProfileChange, ProfileReads, UserProfiles

# --- moves: each kept by the transaction that makes it (data/lineage.py) --------------------------------------


def move_of(
    kind: MoveKind,
    subject: MoveSubject,
    *,
    home: Profile,
    source: Profile | None,
    target: Profile,
    at: str,
    by: Actor,
    **what: Any,
) -> Move:
    """A move from `source` (its profile and user as they were) to `target`, kept in `home`'s partition (the
    profile the move concerns), with `what` moved (ids, identifiers, statements, the proof, a reason)."""
    return Move(
        move_id=time_ordered_id(at),
        org_id=home.org_id,
        profile_id=home.profile_id,
        subject=subject,
        kind=kind,
        at=at,
        by=by.stamp(),
        from_profile_id=source.profile_id if source else None,
        from_user_id=source.user_id if source else None,
        to_profile_id=target.profile_id,
        to_user_id=target.user_id,
        **what,
    )


def sale_move(
    kind: MoveKind,
    order: Order,
    entitlements: Sequence[Entitlement],
    source: Profile,
    target: Profile,
    *,
    at: str,
    by: Actor,
    **what: Any,
) -> Move:
    """A sale (its order and `entitlements`) going from `source` to `target`, kept on `target` (where a disown
    finds it)."""
    return move_of(
        kind,
        "order",
        home=target,
        source=source,
        target=target,
        at=at,
        by=by,
        order_id=order.order_id,
        order_ids=[order.order_id],
        entitlement_ids=[e.entitlement_id for e in entitlements],
        **what,
    )


def profile_move(before: Profile, after: Profile, kind: MoveKind, *, by: Actor, proof: str | None = None) -> Move:
    """A whole profile changing hands (`before` -> `after`, at `after.updated_at`), kept in its own partition."""
    return move_of(kind, "profile", home=after, source=before, target=after, at=after.updated_at, by=by, proof=proof)


def merge_move(
    source: Profile, target: Profile, at: str, *, children: Sequence[Order | Entitlement] = (), **took: Any
) -> Move:
    """Part of `source`'s merge into `target`, kept in `source`'s partition: children moved, or what `target`
    took over (`emails`, `phones`, `cards`, `consents` with the `replaced_consents` they beat)."""
    return move_of(
        "merge",
        "merge",
        home=source,
        source=source,
        target=target,
        at=at,
        by=SYSTEM,
        order_ids=[c.order_id for c in children if isinstance(c, Order)],
        entitlement_ids=[c.entitlement_id for c in children if isinstance(c, Entitlement)],
        **took,
    )


# --- write plans ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Destination:
    """Where an undone sale or profile goes, decided as a new sale typed with what is left would be: a person
    who verified one (`holder_active`), a dormant holder (`holder` as read, or `new_holder` holding
    `claimed`), or nobody (`user_id` None: an orphan). Written only if each identifier is held as read."""

    user_id: str | None
    holder_active: bool = False
    new_holder: User | None = None
    holder: User | None = None
    claimed: Sequence[Identifier] = ()
    holdings: Mapping[Identifier, Holding | None] = field(default_factory=dict)
    proof: Proof | None = None
    pointers: Sequence[Identifier] = ()  # a sale's other identifiers: whoever proves one later finds it


@dataclass(frozen=True)
class SaleDisowned:
    """A sale its person disowned: `order` (as read under `source`) going as `moved` under `target.after`
    (new, or over the version read), with its entitlements, open claim and pointers (`dropped` go)."""

    order: Order
    moved: Order
    entitlements: Sequence[Entitlement]
    source: Profile
    target: ProfileChange
    destination: Destination
    dropped: Sequence[Identifier]
    claim: Claim | None
    move: Move
    announce: PendingEffect


@dataclass(frozen=True)
class ProfileUnlinked:
    """A linked profile given back (`change`, over the version read) to `destination`'s holder or nobody."""

    change: ProfileChange
    destination: Destination
    move: Move
    announce: PendingEffect


@dataclass(frozen=True)
class UnmergeFinish:
    """The last step of an unmerge: `source` (merged, unmerging, as read) live again as `restored` with its owner,
    `survivor` (as read) without what it took over (`reduced`; itself when it took nothing still there), the
    owner as read (`holder`, its version checked) or made (`new_holder`, holding `claimed`), and who held each
    identifier the decision read (`holdings`). `move` is kept; `announce` publishes `ProfilesUnmerged`."""

    source: Profile
    restored: Profile
    survivor: Profile
    reduced: Profile
    holder: User | None
    new_holder: User | None
    claimed: Sequence[Identifier]
    holdings: Mapping[Identifier, Holding | None]
    proof: Proof | None
    move: Move
    announce: PendingEffect
    changed_by: Actor = SYSTEM


# --- ports --------------------------------------------------------------------------------------------------


class ProfileUnmerging(ProfileReads, Protocol):
    """A merged profile restored (docs/decisions.md, unmerge): its merge's moves read, its children and
    statements taken back, then it is live again with its owner, in steps each guarded by the state it expects."""

    def moves_of(
        self, org_id: str, profile_id: str, subject: MoveSubject, order_id: str | None = None
    ) -> list[Move]: ...

    def write_profiles(
        self, *changes: ProfileChange, announce: PendingEffect | None = None, moves: Sequence[Move] = ()
    ) -> None: ...

    def get_user(self, user_id: str) -> User | None: ...

    def identifier_holders(self, identifiers: Sequence[Identifier]) -> dict[Identifier, Holding]: ...

    def identifiers_held_by(self, user_id: str) -> list[tuple[Identifier, Proof]]: ...

    def profile_id_of_user_in_org(self, user_id: str, org_id: str) -> str | None: ...

    def return_children(
        self, survivor: Profile, source: Profile, order_ids: Sequence[str], entitlement_ids: Sequence[str]
    ) -> int: ...

    def point_open_sales_at(self, source: Profile, order_ids: Sequence[str]) -> int: ...

    def return_consents(
        self,
        survivor: Profile,
        source: Profile,
        statements: Sequence[ConsentStatement],
        replaced: Sequence[ConsentStatement],
    ) -> None: ...

    def finish_unmerge(self, plan: UnmergeFinish) -> None: ...


class Undoing(UserProfiles, Protocol):
    """What an undo decides on: the moves kept (lineage) and who holds which identifier."""

    def moves_of(
        self, org_id: str, profile_id: str, subject: MoveSubject, order_id: str | None = None
    ) -> list[Move]: ...

    def identifiers_held_by(self, user_id: str) -> list[tuple[Identifier, Proof]]: ...

    def identifier_holders(self, identifiers: Sequence[Identifier]) -> dict[Identifier, Holding]: ...


class Disowning(Undoing, Protocol):
    """A person disowning a sale: found among their profiles, moved back in one transaction."""

    def sale_of_user(self, user_id: str, order_id: str) -> tuple[Order, list[Entitlement]] | None: ...

    def merged_profile_ids(self, org_id: str, profile_id: str) -> list[str]: ...

    def get_claim(self, token_hash: str) -> Claim | None: ...

    def write_disown(self, plan: SaleDisowned) -> None: ...


class Unlinking(Undoing, Protocol):
    """A profile given back from the person a typed identifier linked it to."""

    def write_unlink(self, plan: ProfileUnlinked) -> None: ...
