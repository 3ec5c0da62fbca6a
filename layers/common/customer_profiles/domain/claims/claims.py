"""Claiming what a reseller's buyer bought: the claim link's token turns pending entitlements active.

The claimer need not be the buyer (links get forwarded); when the claimer's verified identifiers match the
buyer's dormant account, signing in activates it, and its profiles follow (activation and linking). The
claim finds its entitlements wherever they now live (a merge moves them), and claims those still pending
(staff may have voided some).

The buyer also sees their open claims without the link: those addressed to an identifier they verified
(`open_claims_of_me`), accepted by claim id (`accept_claim`). A retry by whoever claimed it (after a lost
answer) gets the first answer again; anyone else gets a 410.
"""

from __future__ import annotations

from customer_profiles.clock import utc_now
from customer_profiles.domain.claims.claim_tokens import claim_token, token_hash
from customer_profiles.domain.identity import profiles, users
from customer_profiles.domain.identity.identifiers import verified_identifiers
from customer_profiles.errors import ConcurrentWrite, Gone, NotFound
from customer_profiles.models.activity import CUSTOMER
from customer_profiles.models.api import ClaimListResponse, ClaimResponse, ClaimSummary
from customer_profiles.models.domain import Claim, Entitlement, Identifier, Profile
from customer_profiles.models.principal import Principal
from customer_profiles.ports.claims import ClaimAcceptance, OpenClaims
from customer_profiles.ports.identity import ProfileReads, SubjectUsers
from customer_profiles.retry import on_concurrent_write

MAX_TOKEN_LENGTH = 128


def claim_entitlements(store: ClaimAcceptance, principal: Principal, token: str) -> ClaimResponse:
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise NotFound("no such claim")
    return _claim(store, principal, token_hash(token))


def accept_claim(store: ClaimAcceptance, principal: Principal, claim_id: str, token_key: bytes) -> ClaimResponse:
    """Accept a claim addressed to an identifier the caller verified, by its id (no link needed). A claim
    addressed elsewhere answers as one that does not exist."""
    hashed = token_hash(claim_token(claim_id, token_key))
    claim = store.get_claim(hashed)
    if claim is None or claim.claim_id != claim_id:
        raise NotFound("no such claim")
    # A closed claim keeps no contact details: its first answer for whoever claimed it, 410 for others.
    if claim.status == "open" and not set(verified_identifiers_of(store, principal)) & set(claim.recipients()):
        raise NotFound("no such claim")
    return _claim(store, principal, hashed)


def open_claims_of_me(store: OpenClaims, principal: Principal, *, limit: int, cursor: str | None) -> ClaimListResponse:
    """The open, unexpired claims addressed to any identifier the caller verified, newest first."""
    users.require_user_principal(principal)
    identifiers = verified_identifiers_of(store, principal)
    if not identifiers:
        return ClaimListResponse(claims=[], next_cursor=None)
    found, next_cursor = store.open_claims_to(identifiers, limit=limit, cursor=cursor)
    now = utc_now()
    return ClaimListResponse(
        claims=[ClaimSummary.of(claim) for _, claim in found if claim.expires_at > now], next_cursor=next_cursor
    )


def verified_identifiers_of(store: OpenClaims, principal: Principal) -> list[Identifier]:
    """What the identity provider verified for this caller: an ID token's verified claims, or for an access
    token (which carries none) the identifiers of the caller's active user (an active user holds only
    verified ones)."""
    if principal.token_use != "access":
        return verified_identifiers(principal.verified_email, principal.verified_phone)
    user = users.get_me(store, principal)
    if user.status != "active":
        return []
    return [
        identifier for identifier, proof in store.identifiers_held_by(user.user_id) if proof.provenance == "verified"
    ]


def _claim(store: ClaimAcceptance, principal: Principal, hashed: str) -> ClaimResponse:
    claim = store.get_claim(hashed)
    if claim is None:
        raise NotFound("no such claim")
    if claim.status == "claimed":
        return _answered_before(claim, _claimer(store, principal))
    _require_open(claim)
    # Sign-in (the subject's user read afresh, never a cached id): activates the buyer's dormant holder when the
    # caller proves the identifier it holds.
    user, _ = users.register_me(store, principal)
    user_id = user.user_id
    return on_concurrent_write(
        lambda: _claim_once(store, hashed, user_id),
        give_up="the claim kept conflicting with concurrent changes; retry",
    )


def _claimer(store: SubjectUsers, principal: Principal) -> str | None:
    user = users.caller_user(store, principal)
    return user.user_id if user else None


def _answered_before(claim: Claim, user_id: str | None) -> ClaimResponse:
    """A used claim: its first answer again for whoever used it (their retry), a 410 for anyone else."""
    if user_id and claim.used_by_user_id == user_id and claim.used_answer:
        return ClaimResponse.model_validate(claim.used_answer)
    raise Gone("this claim link was used already or has expired")


def _require_open(claim: Claim) -> None:
    if claim.status == "cancelled":
        raise Gone("this claim was cancelled")
    if claim.status != "open" or claim.expires_at <= utc_now():
        raise Gone("this claim link was used already or has expired")


def _claim_once(store: ClaimAcceptance, hashed: str, user_id: str) -> ClaimResponse:
    claim = store.get_claim(hashed)
    if claim is None:
        raise NotFound("no such claim")
    if claim.status == "claimed":  # a concurrent retry of the same person's claim won
        return _answered_before(claim, user_id)
    _require_open(claim)
    now = utc_now()
    target_id, _ = profiles.ensure_user_profile(store, user_id, claim.org_id, origin="partner", changed_by=CUSTOMER)
    source = where_entitlements_live(store, claim)
    target = store.get_profile(claim.org_id, target_id)
    if target is None:
        raise ConcurrentWrite("the claim's profile is being written; retry")
    # Only the claim's own entitlements (at most 40, one strongly consistent BatchGetItem), never the
    # source's whole partition.
    found = store.entitlements_by_ids(claim.org_id, source.profile_id, claim.entitlement_ids)
    pending = [e for e in found if e.status == "pending_claim"]
    if not pending:
        again = store.get_claim(hashed)
        if again is not None and again.status == "claimed":  # claimed a moment ago: the same person's retry?
            return _answered_before(again, user_id)
        if again is not None:
            _require_open(again)  # cancelled a moment ago
        raise Gone("nothing is left to claim: the entitlements were voided")

    def answer(activated: list[Entitlement]) -> dict:
        return ClaimResponse(org_id=claim.org_id, profile_id=target.profile_id, entitlements=activated).model_dump(
            mode="json"
        )

    activated = store.use_claim(hashed, now, source=source, target=target, entitlements=pending, answer=answer)
    return ClaimResponse.model_validate(answer(activated))  # what a retry is answered, to the letter


def where_entitlements_live(store: ProfileReads, claim: Claim) -> Profile:
    """The live profile holding the claim's entitlements: the buyer's, or the one it was merged into."""
    return profiles.live_successor(store, claim.org_id, claim.profile_id, holding="claim")
