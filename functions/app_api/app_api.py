"""The user-facing API: thin routes that parse, authorise and call the domain."""

from functools import lru_cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from customer_profiles import users
from customer_profiles.config import settings
from customer_profiles.dal import ProfileStore
from customer_profiles.http import ERROR_RESPONSES, create_resolver, principal_of
from customer_profiles.models import UserResponse

logger = Logger()
tracer = Tracer()
metrics = Metrics()
app = create_resolver()


@lru_cache(maxsize=1)
def store() -> ProfileStore:
    return ProfileStore(settings().table_name)


@app.put("/v1/me", responses={200: {"description": "OK"}, 201: {"description": "Created"}, **ERROR_RESPONSES})
@tracer.capture_method
def register_me() -> Response[dict[str, Any]]:
    user, created = users.register_me(store(), principal_of(app))
    if created:
        metrics.add_metric(name="UsersRegistered", unit="Count", value=1)
    return Response(
        status_code=201 if created else 200,
        content_type=content_types.APPLICATION_JSON,
        body=UserResponse.of(user).model_dump(mode="json"),
    )


@app.get("/v1/me", responses=ERROR_RESPONSES)
@tracer.capture_method
def get_me() -> UserResponse:
    return UserResponse.of(users.get_me(store(), principal_of(app)))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
