"""The org staff API: thin routes that check the staff member's org and role, then call the domain."""

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

from customer_profiles.access import require_staff_of
from customer_profiles.http import ERROR_RESPONSES, create_resolver, principal_of
from customer_profiles.identity import STAFF_ROLES

logger = Logger()
tracer = Tracer()
app = create_resolver()


class OrgStatusResponse(BaseModel):
    org_id: str
    roles: list[str]


@app.get("/v1/orgs/<org_id>/status", responses=ERROR_RESPONSES)
def org_status(org_id: str) -> OrgStatusResponse:
    principal = principal_of(app)
    require_staff_of(principal, org_id, any_role=STAFF_ROLES)
    return OrgStatusResponse(org_id=org_id, roles=sorted(principal.roles))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
