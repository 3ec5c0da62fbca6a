"""The user-facing API: thin routes that parse, authorise and call the domain."""

from typing import Annotated, Any
from urllib.parse import unquote

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Path

from customer_profiles.domain.claims import claims
from customer_profiles.domain.idempotency import under_key
from customer_profiles.domain.identity import history, profiles, registration, undo, users
from customer_profiles.domain.privacy import consents, privacy
from customer_profiles.domain.sales import orders, receipt_codes, receipts
from customer_profiles.edge import secrets as secret_store
from customer_profiles.edge.api import ApiFunction
from customer_profiles.edge.config import AppApiSettings
from customer_profiles.edge.http import principal_of
from customer_profiles.edge.idempotency import IDEMPOTENCY_KEY, keyed_by
from customer_profiles.edge.params import CURSOR, LIMIT, OPTIONAL_ORG_ID, ORDER_ID, ORG_ID
from customer_profiles.models.api import (
    ClaimListResponse,
    ClaimResponse,
    DisownRequest,
    DisownResponse,
    HeldIdentifier,
    HistoryResponse,
    IdentifierListResponse,
    OrderRequest,
    OrderResponse,
    PersonExport,
    ProfileListResponse,
    ProfileResponse,
    ProfileUpdateRequest,
    ProfileWithConsentsResponse,
    ReceiptRedemptionResponse,
    UserResponse,
)
from customer_profiles.models.consents import ConsentsRequest, ConsentsResponse

function = ApiFunction(AppApiSettings, tag="app")
app, route, store, metrics, logger = function.app, function.route, function.store, function.metrics, function.logger


def json_response(status: int, body: dict[str, Any]) -> Response[dict[str, Any]]:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body)


@route.put("/v1/me", {200: UserResponse, 201: UserResponse})
def register_me() -> Response[dict[str, Any]]:
    result = registration.register(store(), principal_of(app))
    if result.created:
        metrics.add_metric(name="UsersRegistered", unit="Count", value=1)
    body = UserResponse.of(result.user, result.profile).model_dump(mode="json")
    return json_response(201 if result.created else 200, body)


@route.get("/v1/me", {200: UserResponse})
def get_me() -> UserResponse:
    return UserResponse.of(users.get_me(store(), principal_of(app)))


@route.delete(
    "/v1/me",
    {204: None},
    description="Erase everything that leads to you: your user, identifiers and sign-in, and in every org your "
    "profile's names, image, birth date, captured contact and ID digits; orders and entitlements stay for the orgs' "
    "accounts but no longer lead to you. Publishes UserErased. Idempotent: 204 again; signing up again starts fresh.",
)
def erase_me() -> Response[None]:
    privacy.erase_me(store(), principal_of(app))
    metrics.add_metric(name="UsersErased", unit="Count", value=1)
    return Response(status_code=204)


@route.get(
    "/v1/me/identifiers",
    {200: IdentifierListResponse},
    description="Every email and phone your account holds, with how and when you proved it: a sale typed with one "
    "of them comes to you. Your account keeps an identifier you verified once until you release it.",
)
def list_my_identifiers() -> IdentifierListResponse:
    held = users.my_identifiers(store(), principal_of(app))
    return IdentifierListResponse(
        identifiers=[
            HeldIdentifier(kind=kind, value=value, provenance=proof.provenance, verified_at=proof.at)
            for (kind, value), proof in held
            if kind in ("email", "phone")
        ]
    )


@route.delete(
    "/v1/me/identifiers/<kind>/<value>",
    {204: None},
    description="Release an email or phone: later sales typed with it no longer come to you (they wait for whoever "
    "proves it next); what it already brought stays yours. 404 when your account does not hold it.",
)
def release_my_identifier(
    kind: Annotated[str, Path(pattern=r"^(email|phone)$")], value: Annotated[str, Path(min_length=1, max_length=254)]
) -> Response[None]:
    # API Gateway hands a path parameter over as sent: an email's @ may arrive percent-encoded.
    users.release_my_identifier(store(), principal_of(app), kind, unquote(value))
    return Response(status_code=204)


@route.get(
    "/v1/me/export",
    {200: PersonExport},
    description="Everything held about you, as JSON: the first page holds your user, identifiers with provenance, "
    "profiles in every org and open claims; each page holds one page of your orders and entitlements (follow "
    "`next_cursor`).",
)
def export_me(cursor: CURSOR = None) -> PersonExport:
    return privacy.export_me(store(), principal_of(app), cursor=cursor)


@route.get("/v1/me/profiles", {200: ProfileListResponse})
def list_my_profiles(limit: LIMIT = 50, cursor: CURSOR = None) -> ProfileListResponse:
    return history.profiles_of_me(store(), principal_of(app), limit=limit, cursor=cursor)


@route.get("/v1/me/history", {200: HistoryResponse})
def my_history(org_id: OPTIONAL_ORG_ID = None, limit: LIMIT = 25, cursor: CURSOR = None) -> HistoryResponse:
    return history.history_of_me(store(), principal_of(app), org_id=org_id, limit=limit, cursor=cursor)


@route.post(
    "/v1/me/orders/<order_id>/disown",
    {200: DisownResponse},
    description="Say an order is not yours. Only a sale that reached you through an email or phone typed with it "
    "(at a window or by a reseller): it goes to whoever verified another one it was typed with, else to that "
    "identifier's dormant holder, else to nobody in its org, flagged for the org's review; your identifiers leave "
    "it and never bring it back. Publishes OrderDisowned. Your own purchase, an accepted claim or a redeemed "
    "receipt code -> 409 `bought_by_you`; past the retention time -> 409 `lineage_expired`; not yours (or "
    "disowned already) -> 404.",
)
def disown_order(order_id: ORDER_ID, request: DisownRequest) -> DisownResponse:
    result = undo.disown_order(store(), principal_of(app), order_id, request.reason)
    metrics.add_metric(name="OrdersDisowned", unit="Count", value=1)
    return result


@route.post("/v1/orgs/<org_id>/orders", {201: OrderResponse})
def place_consumer_order(
    org_id: ORG_ID, order: OrderRequest, idempotency_key: IDEMPOTENCY_KEY = None
) -> Response[dict[str, Any]]:
    principal = principal_of(app)
    payload = {"org_id": org_id, "order": order.model_dump(mode="json")}
    once = under_key("place_consumer_order", **keyed_by(app, principal), payload=payload)
    placed = orders.place_consumer_order(store(), principal, org_id, order, once)
    metrics.add_metric(name="ConsumerOrders", unit="Count", value=1)
    return json_response(201, placed.model_dump(mode="json"))


@route.post("/v1/claims/<token>", {200: ClaimResponse})
def claim_entitlements(token: Annotated[str, Path(min_length=16, max_length=128)]) -> ClaimResponse:
    result = claims.claim_entitlements(store(), principal_of(app), token)
    metrics.add_metric(name="ClaimsUsed", unit="Count", value=1)
    return result


@route.post("/v1/receipts/<code>", {200: ReceiptRedemptionResponse})
def redeem_receipt(
    code: Annotated[
        str,
        Path(
            min_length=1,
            max_length=receipt_codes.MAX_TYPED_LENGTH,
            description="The code printed on an anonymous sale's receipt (case, hyphens and spaces do not matter)",
            examples=["7K3M-Q9XD-2HBT-V"],
        ),
    ],
) -> ReceiptRedemptionResponse:
    result = receipts.redeem_receipt(store(), principal_of(app), code, keys=secret_store.receipt_code_keys)
    metrics.add_metric(name="ReceiptsRedeemed", unit="Count", value=1)
    return result


@route.get(
    "/v1/me/claims",
    {200: ClaimListResponse},
    description="Open claims addressed to an email or phone you verified, newest first (without their links).",
)
def my_claims(limit: LIMIT = 25, cursor: CURSOR = None) -> ClaimListResponse:
    return claims.open_claims_of_me(store(), principal_of(app), limit=limit, cursor=cursor)


@route.post(
    "/v1/me/claims/<claim_id>/accept",
    {200: ClaimResponse},
    description="Accept one of your open claims without its link. A retry by you answers the first answer again.",
)
def accept_my_claim(claim_id: Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$")]) -> ClaimResponse:
    result = claims.accept_claim(store(), principal_of(app), claim_id, secret_store.claim_token_key())
    metrics.add_metric(name="ClaimsUsed", unit="Count", value=1)
    return result


@route.get("/v1/orgs/<org_id>/profile", {200: ProfileWithConsentsResponse})
def get_my_org_profile(org_id: ORG_ID) -> ProfileWithConsentsResponse:
    profile = profiles.my_profile_in_org(store(), principal_of(app), org_id)
    mine = consents.my_consents(store(), profile).consents
    return ProfileWithConsentsResponse(**ProfileResponse.of(profile).model_dump(), consents=mine)


@route.patch("/v1/orgs/<org_id>/profile", {200: ProfileResponse})
def update_my_org_profile(org_id: ORG_ID, update: ProfileUpdateRequest) -> ProfileResponse:
    return ProfileResponse.of(profiles.update_my_profile(store(), principal_of(app), org_id, update))


@route.put(
    "/v1/orgs/<org_id>/profile/consents",
    {200: ConsentsResponse},
    description="Your marketing consents in this org, one statement per purpose. The latest statement wins by "
    "`stated_at`, not by arrival: an older one changes nothing and the answer is the current state.",
)
def set_my_consents(org_id: ORG_ID, request: ConsentsRequest) -> ConsentsResponse:
    return consents.set_my_consents(store(), principal_of(app), org_id, request)


handler = function.handler
function.prepare_snapshot(unauthenticated=("GET", "/v1/me"))
