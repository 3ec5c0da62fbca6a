"""API Gateway REQUEST authorizer: verifies the bearer token, hands the principal to the handlers.

Raising "Unauthorized" is API Gateway's contract for a 401; an Allow policy carries the principal.
The policy covers every method of the stage because API Gateway caches it per token for all routes; so does
the principal, with a staff member's memberships: a revocation takes effect within the cache time
(the authorizer's ReauthorizeEvery).
"""

from dataclasses import replace
from functools import lru_cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from customer_profiles.edge import config, snapstart
from customer_profiles.edge.config import AuthorizerSettings
from customer_profiles.edge.logs import masked_logger
from customer_profiles.edge.stores import store_factory
from customer_profiles.edge.tokens import TokenVerifier
from customer_profiles.models.principal import InvalidToken, Principal

logger = masked_logger()
config.settings(AuthorizerSettings)  # a missing variable fails the cold start, naming it


@lru_cache(maxsize=1)
def verifier() -> TokenVerifier:
    settings = config.settings(AuthorizerSettings)
    return TokenVerifier(
        issuer=settings.idp_issuer,
        audiences=settings.audience_list,
        jwks_url=settings.idp_jwks_url,
        staff_clients=settings.staff_client_list,
    )


# The data layer (pydantic models, boto3) is imported by the before-snapshot hook or the first token.
store = store_factory(lambda: config.settings(AuthorizerSettings))


# Built and primed into the snapshot (the JWKS is read at request time).
snapstart.prepare(verifier, store, primers=(lambda: store().prime(),), reconnect=(lambda: store().connect(),))


def with_what_the_service_knows(principal: Principal) -> Principal:
    """A staff principal with every org its subject is staff of; a user's with their platform user id, so
    the handlers need not read it on every request (one strongly consistent read either way, cached by API
    Gateway with the policy: a subject's user never changes once written, and a user who registers after
    this answer is found by the handlers' own lookup)."""
    if principal.kind == "user":
        return replace(principal, user_id=store().user_id_for_subject(principal.subject) or "")
    found = store().memberships_of(principal.subject)
    return replace(principal, memberships={m.org_id: frozenset(m.roles) for m in found})


def bearer_token(headers: dict[str, str] | None) -> str:
    for name, value in (headers or {}).items():
        if name.lower() == "authorization":
            scheme, _, token = value.partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
    raise InvalidToken("no bearer token")


def stage_wildcard_arn(method_arn: str) -> str:
    # arn:aws:execute-api:region:account:api-id/stage/METHOD/path -> .../api-id/stage/*/*
    api_part, _, _ = method_arn.partition("/")
    stage = method_arn.split("/")[1] if method_arn.count("/") >= 1 else "*"
    return f"{api_part}/{stage}/*/*"


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        principal = verifier().verify(bearer_token(event.get("headers")))
    except InvalidToken as error:
        logger.info("token refused", extra={"reason": str(error)})
        raise Exception("Unauthorized") from None  # noqa: TRY002 - API Gateway's contract for 401
    principal = with_what_the_service_knows(principal)
    logger.info(
        "token accepted",
        extra={"kind": principal.kind, "token_use": principal.token_use, "orgs": sorted(principal.memberships)},
    )
    return {**policy(principal.subject, "Allow", event["methodArn"]), "context": principal.to_context()}


def policy(principal_id: str, effect: str, method_arn: str) -> dict[str, Any]:
    return {
        "principalId": principal_id,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {"Action": "execute-api:Invoke", "Effect": effect, "Resource": stage_wildcard_arn(method_arn)}
            ],
        },
    }
