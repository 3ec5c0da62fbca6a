"""Resellers registered as partners: one item each, read when their webhooks arrive and set by the operator."""

from __future__ import annotations

from customer_profiles.data import keys
from customer_profiles.data.codec import partner_from_item
from customer_profiles.data.table import Records
from customer_profiles.models.domain import Partner


class PartnerRecords(Records):
    def get_partner(self, partner_id: str) -> Partner | None:
        item = self.db.get(keys.partner_key(partner_id), consistent=False)
        return partner_from_item(item) if item else None

    def put_partner(self, partner: Partner, now: str) -> None:
        self.db.table.put_item(
            Item={**keys.partner_key(partner.partner_id), "type": "partner", **partner.model_dump(), "updated_at": now}
        )
