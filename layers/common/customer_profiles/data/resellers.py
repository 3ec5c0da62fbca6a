"""The reseller aggregate: partners, webhook deliveries (exactly once by webhook id) and claims."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from customer_profiles.data import keys
from customer_profiles.data.codec import claim_from_item, entitlement_to_item, partner_from_item, plain
from customer_profiles.data.orders import SaleWrite, add_sale
from customer_profiles.data.pending import add_pending
from customer_profiles.data.table import Records
from customer_profiles.models.domain import Claim, Entitlement, Partner, PendingEffect, Profile


@dataclass
class PartnerOrderWrite:
    """A reseller's order: the sale's writes, its claim, and the webhook id that makes it exactly once."""

    sale: SaleWrite
    partner_id: str
    webhook_id: str
    body_sha256: str
    response: dict[str, Any]
    claim: Claim
    claim_token_hash: str


class ResellerRecords(Records):
    def get_partner(self, partner_id: str) -> Partner | None:
        item = self.db.get(keys.partner_key(partner_id), consistent=False)
        return partner_from_item(item) if item else None

    def put_partner(self, partner: Partner, now: str) -> None:
        self.db.table.put_item(
            Item={**keys.partner_key(partner.partner_id), "type": "partner", **partner.model_dump(), "updated_at": now}
        )

    def delivered_webhook(self, partner_id: str, webhook_id: str) -> dict[str, Any] | None:
        """What an earlier delivery of this webhook id recorded: its body's hash and our answer."""
        item = self.db.get(keys.webhook_key(partner_id, webhook_id))
        return plain(item) if item else None

    def write_partner_order(self, write: PartnerOrderWrite) -> None:
        """The sale, the claim (its stream record is the notification's outbox) and the webhook id, at once."""
        tx = self.db.tx()
        add_sale(tx, write.sale)
        tx.put_if_new(
            {
                **keys.webhook_key(write.partner_id, write.webhook_id),
                "type": "webhook_delivery",
                "body_sha256": write.body_sha256,
                "response": write.response,
                "created_at": write.sale.order.created_at,
            }
        )
        tx.put_if_new(
            {**keys.claim_key(write.claim_token_hash), "type": "claim", **write.claim.model_dump(exclude_none=True)}
        )
        claim = write.claim
        cause = claim.model_dump(mode="json", exclude_none=True)
        add_pending(
            tx, PendingEffect(kind="notify_claim", effect_id=claim.claim_id, cause=cause, created_at=claim.created_at)
        )
        tx.execute(self.db.client)

    def get_claim(self, token_hash: str) -> Claim | None:
        item = self.db.get(keys.claim_key(token_hash))
        return claim_from_item(item) if item else None

    def use_claim(
        self, token_hash: str, now: str, *, source: Profile, target: Profile, entitlements: Sequence[Entitlement]
    ) -> list[Entitlement]:
        """Mark the claim used (only while open and unexpired) and activate its entitlements under `target`.

        Under the same profile they change state in place; under another they move (Put + Delete), each
        guarded by still being pending_claim. All in one transaction.
        """
        assert target.user_id
        tx = self.db.tx().update(
            keys.claim_key(token_hash),
            "SET #status = :used, used_at = :now, used_by_profile_id = :target",
            "#status = :open AND expires_at > :now",
            used="used",
            open="open",
            now=now,
            target=target.profile_id,
        )
        activated: list[Entitlement] = []
        for entitlement in entitlements:
            key = keys.entitlement_key(entitlement.org_id, entitlement.profile_id, entitlement.entitlement_id)
            if source.profile_id == target.profile_id:
                tx.update(key, "SET #status = :active", "#status = :pending", active="active", pending="pending_claim")
                activated.append(entitlement.model_copy(update={"status": "active"}))
                continue
            moved = entitlement.model_copy(update={"status": "active", "profile_id": target.profile_id})
            tx.put_if_new(entitlement_to_item(moved, target.user_id))
            tx.delete(key, "#status = :pending", pending="pending_claim")
            activated.append(moved)
        tx.execute(self.db.client)
        return activated
