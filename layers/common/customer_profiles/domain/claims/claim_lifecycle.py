"""What staff and partners do to a claim after it was sent: cancel it, send it again, or re-address it.

A claim is `open` until it is `claimed` (domain/claims/claims.py), `cancelled` (here) or `expired` (the schedule).
Every transition is one transaction guarded by the claim's state, so a cancellation racing an acceptance
has one winner: the acceptance then answers 410, the cancellation reports the entitlements as not
cancellable (a partner) or answers 409 (staff).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from customer_profiles.clock import new_id, utc_now
from customer_profiles.domain.claims.claim_tokens import claim_token, token_hash
from customer_profiles.domain.claims.claims import where_entitlements_live
from customer_profiles.domain.staff.access import acting_staff
from customer_profiles.errors import NotFound, StateConflict, TooManyAttempts
from customer_profiles.models.domain import Claim, Entitlement
from customer_profiles.models.principal import Principal
from customer_profiles.ports.claims import ClaimChanges, ClaimLifecycle, ClaimReads, Delivery, StaffClaimReads
from customer_profiles.retry import on_concurrent_write

CLAIM_STAFF = frozenset({"admin", "pos"})
# Staff may send a claim again at most this often, and this many times: enough for a lost email or a
# typo fixed at the window, never a way to flood a buyer's inbox.
RESEND_INTERVAL = timedelta(minutes=10)
MAX_RESENDS = 5


@dataclass
class Cancellation:
    claim: Claim
    voided: list[str] = field(default_factory=list)
    not_cancellable: list[str] = field(default_factory=list)  # claimed already: they belong to the claimer


def find_claim(store: ClaimReads, claim_id: str, token_key: bytes) -> tuple[str, Claim]:
    """A claim by its id (its token re-derived with the server key), as (token hash, claim)."""
    hashed = token_hash(claim_token(claim_id, token_key))
    claim = store.get_claim(hashed)
    if claim is None or claim.claim_id != claim_id:
        raise NotFound("no such claim")
    return hashed, claim


def staff_claim[S: StaffClaimReads](
    store: S, principal: Principal, org_id: str, claim_id: str, token_key: bytes
) -> tuple[S, str, Claim]:
    """The org's claim by its id, and the store whose writes check the member's authority as they commit."""
    store = acting_staff(store, principal, org_id, any_role=CLAIM_STAFF)
    hashed, claim = find_claim(store, claim_id, token_key)
    if claim.org_id != org_id:
        raise NotFound("no such claim")  # another org's claim looks like none at all
    return store, hashed, claim


def cancel(
    store: ClaimChanges, hashed: str, *, delivery: Callable[[Cancellation], Delivery] | None = None
) -> Cancellation:
    """Cancel the claim and void what it still holds pending; a claimed claim is left as it is and its
    entitlements are reported as not cancellable. Idempotent: a cancelled claim answers the same."""

    def attempt() -> Cancellation:
        claim = _current(store, hashed)
        if claim.status == "claimed":
            return Cancellation(claim, not_cancellable=list(claim.entitlement_ids))
        if claim.status == "cancelled":  # the same answer as the cancellation's
            return Cancellation(claim, voided=list(claim.voided_entitlement_ids))
        pending = _pending_entitlements(store, claim)
        done = Cancellation(
            claim.model_copy(update={"status": "cancelled"}), voided=[e.entitlement_id for e in pending]
        )
        store.cancel_claim(hashed, utc_now(), void=pending, delivery=delivery(done) if delivery else None)
        return done

    return on_concurrent_write(attempt, give_up="the claim kept conflicting with concurrent changes; retry")


def cancel_by_staff(
    store: ClaimLifecycle, principal: Principal, org_id: str, claim_id: str, token_key: bytes
) -> Cancellation:
    store, hashed, _ = staff_claim(store, principal, org_id, claim_id, token_key)
    cancelled = cancel(store, hashed)
    if cancelled.claim.status == "claimed":
        raise StateConflict("the claim was accepted already: void its entitlements instead", field="claim_id")
    return cancelled


def resend_by_staff(store: ClaimLifecycle, principal: Principal, org_id: str, claim_id: str, token_key: bytes) -> Claim:
    """Ask for the claim's notification again (the same link). Only an open claim; at most MAX_RESENDS
    times and once per RESEND_INTERVAL (429 with Retry-After)."""
    store, hashed, _ = staff_claim(store, principal, org_id, claim_id, token_key)

    def attempt() -> Claim:
        claim = _current(store, hashed)
        now = utc_now()
        if claim.status != "open" or claim.expires_at <= now:
            raise StateConflict(f"only an open claim can be sent again; this one is {_status(claim, now)}")
        if claim.resends >= MAX_RESENDS:
            raise StateConflict(f"the claim was sent again {MAX_RESENDS} times already")
        if claim.resent_at:
            wait = _parse(claim.resent_at) + RESEND_INTERVAL - _parse(now)
            if wait.total_seconds() > 0:
                raise TooManyAttempts(
                    "the claim was sent again a moment ago", retry_after_seconds=int(wait.total_seconds()) + 1
                )
        number = store.resend_claim(hashed, claim, now)
        return claim.model_copy(update={"resends": number, "resent_at": now})

    return on_concurrent_write(attempt, give_up="the claim kept conflicting with concurrent changes; retry")


def readdress(
    store: ClaimChanges,
    hashed: str,
    *,
    email: str | None,
    phone: str | None,
    claim_days: int,
    token_key: bytes,
    delivery: Callable[[Claim], Delivery] | None = None,
) -> Claim:
    """The partner changed the buyer: the claim is replaced by a new one to the new identifiers (a new link,
    a new notification, a new expiry); the old link is dead. A claimed claim cannot be re-addressed."""

    def attempt() -> Claim:
        claim = _current(store, hashed)
        now = utc_now()
        if claim.status in ("claimed", "cancelled"):
            raise StateConflict(f"the claim is {claim.status}: it cannot go to another recipient")
        replacement = claim.model_copy(
            update={
                "claim_id": new_id(),
                "email": email,
                "phone": phone,
                "status": "open",
                "expires_at": in_days(claim_days),
                "created_at": now,
                "resends": 0,
                "resent_at": None,
                "replaced_by": None,
            }
        )
        new_hash = token_hash(claim_token(replacement.claim_id, token_key))
        recorded = delivery(replacement) if delivery else None
        store.cancel_claim(hashed, now, void=[], delivery=recorded, replaced_by=(replacement, new_hash))
        return replacement

    return on_concurrent_write(attempt, give_up="the claim kept conflicting with concurrent changes; retry")


def in_days(days: int) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _current(store: ClaimReads, hashed: str) -> Claim:
    claim = store.get_claim(hashed)
    if claim is None:
        raise NotFound("no such claim")
    return claim


def _pending_entitlements(store: ClaimChanges, claim: Claim) -> list[Entitlement]:
    source = where_entitlements_live(store, claim)
    found = store.entitlements_by_ids(claim.org_id, source.profile_id, claim.entitlement_ids)
    return [e for e in found if e.status == "pending_claim"]


def _status(claim: Claim, now: str) -> str:
    return "expired" if claim.status == "open" and claim.expires_at <= now else claim.status


def _parse(instant: str) -> datetime:
    return datetime.fromisoformat(instant.replace("Z", "+00:00"))
