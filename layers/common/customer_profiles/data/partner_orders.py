"""A reseller's order: its sale, its claim and its webhook delivery written in one transaction."""

from __future__ import annotations

from customer_profiles.data import keys
from customer_profiles.data.claims import add_claim
from customer_profiles.data.deliveries import add_delivery
from customer_profiles.data.sales import add_sale
from customer_profiles.data.table import Records
from customer_profiles.ports.claims import Delivery
from customer_profiles.ports.sales import PartnerOrderWrite


class PartnerOrderRecords(Records):
    def write_partner_order(self, write: PartnerOrderWrite) -> None:
        """The sale, the claim (its stream record is the notification's outbox) and the webhook id, at once."""
        tx = self.db.tx()
        add_sale(tx, write.sale)
        add_delivery(
            tx,
            Delivery(write.partner_id, write.webhook_id, write.body_sha256, write.response),
            at=write.sale.order.created_at,
        )
        if write.external_order_id:
            tx.put_if_new(
                {
                    **keys.partner_order_key(write.partner_id, write.external_order_id),
                    "type": "partner_order",
                    "order_sha256": write.order_sha256,
                    "response": write.response,
                    "org_id": write.sale.order.org_id,
                    "claim_token_hash": write.claim_token_hash,  # where the partner's later events find it
                    "created_at": write.sale.order.created_at,
                }
            )
        add_claim(tx, write.claim, write.claim_token_hash)
        tx.execute(self.db.client)
