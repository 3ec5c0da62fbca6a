"""The privacy family's ports: consent statements, a person's or an org's erasure, and the exports (GDPR
articles 15, 17 and 20); with the effect an erasure leaves for the stream."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from customer_profiles.models.activity import ActivityEntry, Actor
from customer_profiles.models.consents import ConsentStatement
from customer_profiles.models.domain import Claim, Entitlement, Identifier, Order, PendingEffect, Profile, Proof, User
from customer_profiles.ports.claims import OpenClaims
from customer_profiles.ports.identity import AppClients, LineageErasure, TypedSale, UserHistory, UserProfiles
from customer_profiles.ports.staff import StaffScoped

# --- write plans ------------------------------------------------------------------------------------------


def erase_user_effect(user_id: str, identifiers: Sequence[Identifier], at: str) -> PendingEffect:
    """What an erasure still owes once its user is marked: the identifiers it proved are in its cause (the
    only place left that names them), so their copies elsewhere can be found; the item goes when done."""
    cause = {"user_id": user_id, "identifiers": [list(i) for i in identifiers], "at": at}
    return PendingEffect(kind="erase_user", effect_id=user_id, cause=cause, created_at=at)


# --- ports --------------------------------------------------------------------------------------------------


class ConsentReads(Protocol):
    def consents_of(self, org_id: str, profile_id: str) -> dict[str, ConsentStatement]: ...


class Consents(ConsentReads, UserProfiles, AppClients, StaffScoped, Protocol):
    """What a customer said about each purpose: set by the person, or relayed for them by staff."""

    def record_consents(
        self, profile: Profile, statements: Sequence[ConsentStatement], *, holder_status: str | None = None
    ) -> None: ...


class PersonErasure(LineageErasure, Protocol):
    """The rest of a person's erasure once their user is marked `erasing` (the `erase_user` effect)."""

    def get_user(self, user_id: str) -> User | None: ...

    def identifiers_held_by(self, user_id: str) -> list[tuple[Identifier, Proof]]: ...

    def release_held(self, user_id: str, identifiers: Sequence[Identifier]) -> None: ...

    def merged_user_ids(self, user_id: str) -> list[str]: ...

    def delete_user_partition(self, user_id: str, *, keep_user: bool) -> int: ...

    def forget_kept(self, identifier: Identifier) -> int: ...

    def finish_erasure(self, user: User, event: PendingEffect) -> None: ...

    def profiles_with_hint(self, identifier: Identifier) -> list[tuple[str, str]]: ...

    def replace_profile(self, current: Profile, updated: Profile, changed_by: Actor = ...) -> None: ...

    def scrub_answers_about(self, org_id: str, profile_id: str, value: str) -> int: ...

    def typed_sales(self, identifier: Identifier) -> list[TypedSale]: ...

    def get_order(self, org_id: str, profile_id: str, created_at: str, order_id: str) -> Order | None: ...

    def forget_typed(self, identifier: Identifier, order: Order) -> bool: ...

    def forget_typed_pointer(self, identifier: Identifier, pointer: TypedSale) -> None: ...

    def open_claims_to(
        self, identifiers: Sequence[tuple[str, str]], *, limit: int, cursor: str | None
    ) -> tuple[list[tuple[str, Claim]], str | None]: ...

    def forget_claim_recipient(self, token_hash: str) -> None: ...


class DataRequests(LineageErasure, UserHistory, OpenClaims, ConsentReads, StaffScoped, Protocol):
    """A person's and an org's data requests: erasure (its first step) and export."""

    def mark_erasing(
        self, user: User, erasing: User, subject: str | None, identifiers: Sequence[Identifier], effect: PendingEffect
    ) -> None: ...

    def user_has_profiles(self, user_id: str) -> bool: ...

    def release_dormant_holder(self, holder: User, released: User, identifiers: Sequence[Identifier]) -> None: ...

    def merged_user_ids(self, user_id: str) -> list[str]: ...

    def activity_page(
        self, org_id: str, profile_id: str, *, limit: int, cursor: str | None
    ) -> tuple[list[ActivityEntry], str | None]: ...

    def children_page(
        self, org_id: str, profile_id: str, *, limit: int, cursor: str | None
    ) -> tuple[list[Order], list[Entitlement], str | None]: ...
