"""Webhook deliveries: each partner's webhook id, recorded in the transaction of what it did (exactly once by
webhook id), and our answer to it, which a redelivery replays."""

from __future__ import annotations

from typing import Any

from customer_profiles.data import keys
from customer_profiles.data.codec import (
    plain,
)
from customer_profiles.data.table import Records
from customer_profiles.data.tx import Tx
from customer_profiles.ports.claims import Delivery


class DeliveryRecords(Records):
    def earlier_deliveries(
        self, partner_id: str, webhook_id: str, external_order_id: str | None
    ) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        """What was recorded for an earlier delivery of this webhook id (its body's hash and our answer) and
        for an earlier order with this external order id (the order's hash and our answer): one strongly
        consistent BatchGetItem."""
        webhook = keys.webhook_key(partner_id, webhook_id)
        order = keys.partner_order_key(partner_id, external_order_id) if external_order_id else None
        found = {(i["pk"], i["sk"]): plain(i) for i in self.db.batch_get([webhook, *([order] if order else [])])}
        return found.get((webhook["pk"], webhook["sk"])), found.get((order["pk"], order["sk"])) if order else None


def add_delivery(tx: Tx, delivery: Delivery, *, at: str) -> None:
    tx.put_if_new(
        {
            **keys.webhook_key(delivery.partner_id, delivery.webhook_id),
            "type": "webhook_delivery",
            "body_sha256": delivery.body_sha256,
            "response": delivery.response,
            "created_at": at,
        }
    )
