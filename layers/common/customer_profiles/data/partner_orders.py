"""A reseller's order: its sale, its claim and its webhook delivery written in one transaction."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from customer_profiles.data import keys
from customer_profiles.data.claims import add_claim
from customer_profiles.data.deliveries import Delivery, add_delivery
from customer_profiles.data.orders import SaleWrite, add_sale
from customer_profiles.data.table import Records
from customer_profiles.models.domain import Claim


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
    external_order_id: str | None = None  # the partner's own id: with `order_sha256`, exactly once by it
    order_sha256: str = ""


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
