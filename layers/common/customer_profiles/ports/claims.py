"""The claims family's ports: a reseller's buyer's claim (listed to its recipients, accepted once), what staff
and partners do to it after it was sent, and its schedule of reminders and expiries; with the webhook
delivery a partner's event is recorded by."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from customer_profiles.models.domain import Claim, Entitlement, Identifier, Profile, Proof
from customer_profiles.ports.identity import ProfileReads, Registrations, SubjectUsers, UserProfiles
from customer_profiles.ports.staff import StaffScoped

# --- write plans ------------------------------------------------------------------------------------------


@dataclass
class Delivery:
    """A partner's webhook delivery, recorded in the transaction of what it did (an order, or a change to its
    claim): a redelivery replays `response`."""

    partner_id: str
    webhook_id: str
    body_sha256: str
    response: dict[str, Any]


ClaimDueKind = Literal["remind", "expire"]


@dataclass(frozen=True)
class ClaimDue:
    """A claim's reminder or expiry that falls due at `due_at`."""

    claim_id: str
    token_hash: str
    kind: ClaimDueKind
    due_at: str


# --- ports --------------------------------------------------------------------------------------------------


class ClaimReads(Protocol):
    def get_claim(self, token_hash: str) -> Claim | None: ...


class OpenClaims(SubjectUsers, Protocol):
    """The open claims addressed to what a caller verified."""

    def identifiers_held_by(self, user_id: str) -> list[tuple[Identifier, Proof]]: ...

    def open_claims_to(
        self, identifiers: Sequence[tuple[str, str]], *, limit: int, cursor: str | None
    ) -> tuple[list[tuple[str, Claim]], str | None]: ...


class ClaimAcceptance(OpenClaims, ClaimReads, Registrations, UserProfiles, Protocol):
    """A claim accepted (by its link or its id): its pending entitlements active under the claimer's profile."""

    def entitlements_by_ids(
        self, org_id: str, profile_id: str, entitlement_ids: Sequence[str]
    ) -> list[Entitlement]: ...

    def use_claim(
        self,
        token_hash: str,
        now: str,
        *,
        source: Profile,
        target: Profile,
        entitlements: Sequence[Entitlement],
        answer: Callable[[list[Entitlement]], dict[str, Any]],
    ) -> list[Entitlement]: ...


class ClaimChanges(ClaimReads, ProfileReads, Protocol):
    """A sent claim cancelled, sent again or re-addressed (by staff, or by its partner's event)."""

    def entitlements_by_ids(
        self, org_id: str, profile_id: str, entitlement_ids: Sequence[str]
    ) -> list[Entitlement]: ...

    def cancel_claim(
        self,
        token_hash: str,
        now: str,
        *,
        void: Sequence[Entitlement],
        delivery: Delivery | None = None,
        replaced_by: tuple[Claim, str] | None = None,
    ) -> None: ...

    def resend_claim(self, token_hash: str, claim: Claim, now: str) -> int: ...


class StaffClaimReads(ClaimReads, StaffScoped, Protocol):
    """An org's claim found by its staff, with the store whose writes check their authority."""


class ClaimLifecycle(ClaimChanges, StaffScoped, Protocol):
    """Staff's changes to their org's claims, each checked against the member's authority as it commits."""


class ClaimSchedule(Protocol):
    """Each open claim's reminder and expiry, settled when due."""

    def due_claims(self, now: str, *, limit: int) -> tuple[list[ClaimDue], bool]: ...

    def claims_by_hash(self, token_hashes: Iterable[str]) -> dict[str, Claim]: ...

    def remind_claim(self, due: ClaimDue, claim: Claim, now: str) -> None: ...

    def expire_claim(self, due: ClaimDue, now: str) -> None: ...

    def drop_claim_due(self, due: ClaimDue) -> None: ...
