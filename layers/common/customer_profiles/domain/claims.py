"""Claiming what a reseller's buyer bought: the claim link's token turns pending entitlements active.

The claimer need not be the buyer (links get forwarded); when the claimer's verified identifiers match the
buyer's dormant account, signing in activates it, and its profiles follow (activation and linking). The
claim finds its entitlements wherever they now live (a merge moves them), and claims those still pending
(staff may have voided some).
"""

from __future__ import annotations

from customer_profiles.data.store import Store
from customer_profiles.domain import profiles, users
from customer_profiles.domain.partners import token_hash
from customer_profiles.domain.users import utc_now
from customer_profiles.errors import ConcurrentWrite, Gone, NotFound
from customer_profiles.models.api import ClaimResponse
from customer_profiles.models.domain import Claim, Profile
from customer_profiles.models.principal import Principal
from customer_profiles.retry import on_concurrent_write

MAX_TOKEN_LENGTH = 128
MAX_MERGE_HOPS = 8  # a profile merged into one that was merged in turn...


def claim_entitlements(store: Store, principal: Principal, token: str) -> ClaimResponse:
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise NotFound("no such claim")
    hashed = token_hash(token)
    _open_claim(store, hashed)
    users.register_me(store, principal)  # sign-in: activates the buyer's dormant account when it is theirs
    user_id = users.current_user_id(store, principal)
    return on_concurrent_write(
        lambda: _claim_once(store, hashed, user_id),
        give_up="the claim kept conflicting with concurrent changes; retry",
    )


def _open_claim(store: Store, hashed: str) -> Claim:
    claim = store.get_claim(hashed)
    if claim is None:
        raise NotFound("no such claim")
    if claim.status != "open" or claim.expires_at <= utc_now():
        raise Gone("this claim link was used already or has expired")
    return claim


def _claim_once(store: Store, hashed: str, user_id: str) -> ClaimResponse:
    claim = _open_claim(store, hashed)
    now = utc_now()
    target_id, _ = profiles.ensure_user_profile(store, user_id, claim.org_id, origin="partner")
    source = _where_entitlements_live(store, claim)
    target = store.get_profile(claim.org_id, target_id)
    if target is None:
        raise ConcurrentWrite("the claim's profile is being written; retry")
    # Only the claim's own entitlements (at most 40, one strongly consistent BatchGetItem), never the
    # source's whole partition.
    found = store.entitlements_by_ids(claim.org_id, source.profile_id, claim.entitlement_ids)
    pending = [e for e in found if e.status == "pending_claim"]
    if not pending:
        raise Gone("nothing is left to claim: the entitlements were voided")
    activated = store.use_claim(hashed, now, source=source, target=target, entitlements=pending)
    return ClaimResponse(org_id=claim.org_id, profile_id=target.profile_id, entitlements=activated)


def _where_entitlements_live(store: Store, claim: Claim) -> Profile:
    """The live profile holding the claim's entitlements: the buyer's, or the one it was merged into."""
    profile_id = claim.profile_id
    for _ in range(MAX_MERGE_HOPS):
        profile = store.get_profile(claim.org_id, profile_id)
        if profile is None:
            break
        if profile.merging_into:
            raise ConcurrentWrite("the claim's profile is being merged; retry")
        if not profile.merged_into:
            return profile
        profile_id = profile.merged_into
    raise ConcurrentWrite("the claim's profile is being written; retry")
