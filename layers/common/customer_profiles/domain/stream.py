"""What the table's stream means for the domain: stream records in, linking work and domain events out.

Images arrive as plain Python values (Powertools deserialises them): no AWS types here.
"""

from __future__ import annotations

from typing import Any

from customer_profiles.data.codec import (
    claim_from_item,
    is_claim_item,
    is_link_task_item,
    is_profile_item,
    is_user_item,
    profile_from_item,
    user_from_item,
)
from customer_profiles.data.store import Store
from customer_profiles.domain import linking
from customer_profiles.domain.partners import claim_token
from customer_profiles.edge.config import settings
from customer_profiles.edge.secrets import claim_token_key
from customer_profiles.models.domain import Claim
from customer_profiles.models.events import DomainEvent


def claim_notification(claim: Claim) -> DomainEvent:
    """The outbox: the claim's own stream record asks for the buyer's notification, so an order can never be
    written without it being sent (at least once; the notifier dedupes by claim id)."""
    link = f"{settings().claim_url_base}{claim_token(claim.claim_id, claim_token_key())}"
    return DomainEvent(
        "ClaimNotificationRequested",
        {
            "claim_id": claim.claim_id,
            "org_id": claim.org_id,
            "partner_id": claim.partner_id,
            "email": claim.email,
            "phone": claim.phone,
            "claim_url": link,
            "expires_at": claim.expires_at,
            "entitlements": len(claim.entitlement_ids),
        },
    )


def handle_change(
    store: Store, event_name: str, old: dict[str, Any] | None, new: dict[str, Any] | None
) -> list[DomainEvent]:
    if new and is_user_item(new):
        user = user_from_item(new)
        before = user_from_item(old) if old and is_user_item(old) else None
        if event_name == "INSERT" and user.status == "active":
            return [DomainEvent("UserRegistered", {"user_id": user.user_id, "created_at": user.created_at})]
        if event_name == "MODIFY" and before and before.status == "dormant" and user.status == "active":
            return [linking.activation_event(store, user.user_id)]
    if event_name == "MODIFY" and new and old and is_profile_item(new):
        profile = profile_from_item(new)
        if profile.user_id and old.get("user_id") != profile.user_id and not profile.merged_into:
            # A profile changed hands (an identifier attached to an orphan, or a link): its orders and
            # entitlements join the user's history. Guarded per child, so repeats change nothing.
            store.rekey_children(profile.org_id, profile.profile_id, profile.user_id)
        return []
    if event_name == "INSERT" and new and is_claim_item(new):
        return [claim_notification(claim_from_item(new))]
    if event_name in ("INSERT", "MODIFY") and new and is_link_task_item(new):
        return [linking.link_merged_user(store, new["from_user_id"], new["to_user_id"])]
    return []
