"""Keys of resellers (partners, their webhook deliveries and orders) and of anonymous sales' receipt codes."""

from __future__ import annotations

from customer_profiles.data.keys.base import Key

PARTNER_PREFIX = "PARTNER#"
RECEIPT_PREFIX = "RECEIPT#"
PARTNER_SK = "PARTNER"
WEBHOOK_SK = "WEBHOOK"
PARTNER_ORDER_SK = "PARTNER_ORDER"
RECEIPT_SK = "RECEIPT"


def partner_key(partner_id: str) -> Key:
    return {"pk": f"{PARTNER_PREFIX}{partner_id}", "sk": PARTNER_SK}


def webhook_key(partner_id: str, webhook_id: str) -> Key:
    return {"pk": f"{PARTNER_PREFIX}{partner_id}#WEBHOOK#{webhook_id}", "sk": WEBHOOK_SK}


def partner_order_key(partner_id: str, external_order_id: str) -> Key:
    """A partner's order by its own id: one per (partner, external_order_id), whatever the webhook-id."""
    return {"pk": f"{PARTNER_PREFIX}{partner_id}#ORDER#{external_order_id}", "sk": PARTNER_ORDER_SK}


def receipt_key(code_hash: str) -> Key:
    """An anonymous sale's receipt code, by the code's HMAC with a server key (the code is never stored)."""
    return {"pk": f"{RECEIPT_PREFIX}{code_hash}", "sk": RECEIPT_SK}
