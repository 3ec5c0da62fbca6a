"""A reseller's message as it arrives: the Standard Webhooks signature checked on the raw body before anything
is parsed, then the body read as the message its `type` names. The domain (domain/sales/partners.py) receives
the verified, parsed message."""

from __future__ import annotations

import binascii
import hashlib
import json
from collections.abc import Callable

from pydantic import ValidationError
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from customer_profiles.data.store import Store
from customer_profiles.domain.sales import partners
from customer_profiles.domain.sales.partners import Outcome, PartnerMessage, SignedMessage
from customer_profiles.edge import secrets as secret_store
from customer_profiles.errors import InvalidInput, Unauthenticated
from customer_profiles.models.api import PartnerOrderCancelled, PartnerOrderRequest, PartnerRecipientChanged

MESSAGES: dict[str, type[PartnerMessage]] = {
    "order.created": PartnerOrderRequest,
    "order.cancelled": PartnerOrderCancelled,
    "order.recipient_changed": PartnerRecipientChanged,
}
MAX_WEBHOOK_ID_LENGTH = 256


def receive(
    store: Store,
    partner_id: str,
    headers: dict[str, str],
    body: str,
    *,
    claim_days: int,
    secrets: Callable[[str], list[str]] | None = None,
    token_key: Callable[[], bytes] | None = None,
) -> tuple[dict, Outcome]:
    """Verify, parse and act on a reseller's message (an order, or an event about one); returns our answer and
    the outcome (created, applied, or a redelivery answered the first answer). The partner's signing secrets
    and the claim-token key come from the secret store, looked up when called, unless given."""
    partner = partners.active_partner(store, partner_id)
    read_secrets = secrets or secret_store.partner_secrets
    signed = signed_message(partner_id, headers, body, read_secrets(partner_id))
    key = token_key or secret_store.claim_token_key
    return partners.accept_partner_order(store, partner, signed, claim_days=claim_days, token_key=key)


def signed_message(partner_id: str, headers: dict[str, str], body: str, secrets: list[str]) -> SignedMessage:
    """The message, if one of the partner's active `secrets` signed this body with these headers."""
    verify_signature(partner_id, body, headers, secrets)
    webhook_id = {k.lower(): v for k, v in headers.items()}["webhook-id"]  # the signature covers it: present
    if len(webhook_id) > MAX_WEBHOOK_ID_LENGTH:
        raise InvalidInput("webhook-id is too long", field="webhook-id")
    body_sha256 = hashlib.sha256(body.encode()).hexdigest()
    return SignedMessage(webhook_id, body_sha256, parse_message(body))


def verify_signature(partner_id: str, body: str, headers: dict[str, str], secrets: list[str]) -> None:
    """Accept the delivery if any active secret signed it (the reference library does the checking:
    constant-time comparison, 5-minute tolerance both ways)."""
    for secret in secrets:
        try:
            Webhook(secret).verify(body, headers, json_parse=False)
            return
        except (WebhookVerificationError, ValueError, binascii.Error):
            continue  # malformed headers raise ValueError or binascii.Error inside the library
    raise Unauthenticated(f"the request is not signed by partner {partner_id}")


def parse_message(body: str) -> PartnerMessage:
    """The message the body is, by its `type` (none: an order)."""
    try:
        kind = json.loads(body).get("type", "order.created") if body.lstrip().startswith("{") else "order.created"
        model = MESSAGES.get(kind) if isinstance(kind, str) else None
        if model is None:
            raise InvalidInput(f"type: one of {', '.join(MESSAGES)}", field="type")
        return model.model_validate_json(body)
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise InvalidInput(f"{field or 'body'}: {first['msg']}", field=field or None) from error
    except json.JSONDecodeError as error:
        raise InvalidInput("the body is not JSON") from error
