"""Reseller webhooks. No authorizer: each request is authenticated by its Standard Webhooks signature,
checked on the raw body before it is parsed. Answers follow webhook conventions: 2xx when accepted (a
redelivery too), 4xx with a JSON reason for what will never succeed, 5xx only for what a retry can fix."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Header

from customer_profiles.edge.api import ApiFunction
from customer_profiles.edge.config import PartnerWebhookSettings
from customer_profiles.edge.params import PARTNER_ID
from customer_profiles.models.api import (
    PartnerEventResponse,
    PartnerOrderCancelled,
    PartnerOrderRequest,
    PartnerOrderResponse,
    PartnerRecipientChanged,
)
from signed_messages import receive

# Signed by the partner (Standard Webhooks) and, in AWS, with the partner's API key; no bearer token.
function = ApiFunction(PartnerWebhookSettings, tag="partners", security=[{"webhookSignature": [], "partnerApiKey": []}])
app, route, store, metrics, logger = function.app, function.route, function.store, function.metrics, function.logger

# The body is read raw (the signature covers its bytes) and parsed after the check, so no route parameter
# declares it; the OpenAPI generator documents it from here.
DOCUMENTED_BODIES = {
    ("/v1/partners/{partner_id}/orders", "post"): (PartnerOrderRequest, PartnerOrderCancelled, PartnerRecipientChanged)
}
OUTCOME_METRICS = {
    "created": "PartnerOrders",
    "applied": "PartnerOrderEvents",
    "redelivered": "PartnerOrderRedeliveries",
}


@route.post(
    "/v1/partners/<partner_id>/orders",
    {200: PartnerOrderResponse | PartnerEventResponse, 201: PartnerOrderResponse},
    description="A reseller's message, signed with Standard Webhooks; its `type` says which: `order.created` (or "
    "none: PartnerOrderRequest) answers 201 the first time, and 200 with the first answer for a redelivery of the "
    "same webhook-id or the same external_order_id; `order.cancelled` (PartnerOrderCancelled) and "
    "`order.recipient_changed` (PartnerRecipientChanged) act on the order with that external_order_id and answer "
    "200 (PartnerEventResponse).",
)
def receive_partner_order(
    partner_id: PARTNER_ID,
    webhook_id: Annotated[str | None, Header(alias="webhook-id", description="Unique per message")] = None,
    webhook_timestamp: Annotated[str | None, Header(alias="webhook-timestamp", description="Unix seconds")] = None,
    webhook_signature: Annotated[
        str | None, Header(alias="webhook-signature", description="v1,<base64 HMAC-SHA256 of id.timestamp.body>")
    ] = None,
) -> Response[dict[str, Any]]:
    event = app.current_event
    answer, outcome = receive(
        store(),
        partner_id,
        dict(event.headers or {}),
        event.decoded_body or "",
        claim_days=function.settings().claim_expiry_days,
    )
    metrics.add_metric(name=OUTCOME_METRICS[outcome], unit="Count", value=1)
    status = 201 if outcome == "created" else 200
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=answer)


handler = function.handler
function.prepare_snapshot()
