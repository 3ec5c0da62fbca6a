"""Claiming what a reseller's buyer bought: the claim link's token turns pending entitlements active.

The claimer need not be the buyer (links get forwarded); when the claimer's verified identifiers match the
buyer's dormant account, signing in activates it, and its profiles follow (activation and linking).
"""

from __future__ import annotations

from customer_profiles.data.store import Store
from customer_profiles.domain import profiles, users
from customer_profiles.domain.partners import token_hash
from customer_profiles.domain.users import utc_now
from customer_profiles.errors import ConcurrentWrite, Gone, NotFound
from customer_profiles.models.api import ClaimResponse
from customer_profiles.models.principal import Principal

MAX_TOKEN_LENGTH = 128


def claim_entitlements(store: Store, principal: Principal, token: str) -> ClaimResponse:
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise NotFound("no such claim")
    hashed = token_hash(token)
    claim = store.get_claim(hashed)
    if claim is None:
        raise NotFound("no such claim")
    now = utc_now()
    if claim.status != "open" or claim.expires_at <= now:
        raise Gone("this claim link was used already or has expired")
    users.register_me(store, principal)  # sign-in: activates the buyer's dormant account when it is theirs
    user_id = users.current_user_id(store, principal)
    target_id, _ = profiles.ensure_user_profile(store, user_id, claim.org_id, origin="partner")
    found = store.profile_with_children(claim.org_id, claim.profile_id)
    target = store.get_profile(claim.org_id, target_id)
    if found is None or target is None:
        raise ConcurrentWrite("the claim's profile is being linked; retry")
    source, _, children = found
    wanted = set(claim.entitlement_ids)
    pending = [e for e in children if e.entitlement_id in wanted and e.status == "pending_claim"]
    if len(pending) != len(wanted):
        raise ConcurrentWrite("the claim's entitlements are being linked; retry")
    activated = store.use_claim(hashed, now, source=source, target=target, entitlements=pending)
    return ClaimResponse(org_id=claim.org_id, profile_id=target.profile_id, entitlements=activated)
