"""Reseller webhooks. No authorizer: each request is authenticated by its Standard Webhooks signature,
checked on the raw body before it is parsed. Answers follow webhook conventions: 2xx when accepted (a
redelivery too), 4xx with a JSON reason for what will never succeed, 5xx only for what a retry can fix."""

from typing import Annotated, Any

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Header
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from customer_profiles.edge import snapstart
from customer_profiles.edge.config import PartnerWebhookSettings, settings
from customer_profiles.edge.http import create_resolver
from customer_profiles.edge.logs import masked_logger
from customer_profiles.edge.params import PARTNER_ID
from customer_profiles.edge.routes import Routes
from customer_profiles.edge.stores import store_factory
from customer_profiles.edge.tracing import LazyTracer, powertools_tracer
from customer_profiles.models.api import (
    PartnerEventResponse,
    PartnerOrderCancelled,
    PartnerOrderRequest,
    PartnerOrderResponse,
    PartnerRecipientChanged,
)
from signed_messages import receive

logger = masked_logger()
settings(PartnerWebhookSettings)  # a missing variable fails the cold start, naming it
tracer = LazyTracer()
metrics = Metrics()
app = create_resolver()
# Signed by the partner (Standard Webhooks) and, in AWS, with the partner's API key; no bearer token.
route = Routes(app, tracer, tag="partners", security=[{"webhookSignature": [], "partnerApiKey": []}])
store = store_factory(lambda: settings(PartnerWebhookSettings))

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


# Built and primed into the snapshot; partners' secrets and the claim-token key are read at
# request time (cached briefly), never kept in the snapshot.
snapstart.prepare(store, powertools_tracer, primers=(lambda: store().prime(),), reconnect=(lambda: store().connect(),))


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
        claim_days=settings(PartnerWebhookSettings).claim_expiry_days,
    )
    metrics.add_metric(name=OUTCOME_METRICS[outcome], unit="Count", value=1)
    status = 201 if outcome == "created" else 200
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=answer)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
