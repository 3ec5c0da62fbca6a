"""Reseller webhooks. No authorizer: each request is authenticated by its signature in the handler."""

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

from customer_profiles.http import ERROR_RESPONSES, create_resolver

logger = Logger()
tracer = Tracer()
app = create_resolver()


class PartnerStatusResponse(BaseModel):
    status: str


@app.get("/v1/partners/<partner_id>/status", responses=ERROR_RESPONSES)
def partner_status(partner_id: str) -> PartnerStatusResponse:
    # Liveness only: says nothing about whether the partner exists.
    return PartnerStatusResponse(status="ok")


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
