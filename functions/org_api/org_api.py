"""The org staff API: thin routes; the domain checks the staff member's org and role on every call."""

from datetime import date
from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Path, Query

from customer_profiles.domain.claims import claim_lifecycle
from customer_profiles.domain.effects import activity
from customer_profiles.domain.idempotency import under_key
from customer_profiles.domain.identity import unmerge
from customer_profiles.domain.privacy import consents, privacy
from customer_profiles.domain.sales import pos
from customer_profiles.domain.staff import memberships, org_console, report, unlink
from customer_profiles.domain.staff import settings as org_settings
from customer_profiles.edge import secrets as secret_store
from customer_profiles.edge.api import ApiFunction
from customer_profiles.edge.config import OrgApiSettings
from customer_profiles.edge.http import principal_of
from customer_profiles.edge.idempotency import IDEMPOTENCY_KEY, keyed_by
from customer_profiles.edge.params import CLAIM_ID, CURSOR, ENTITLEMENT_ID, LIMIT, ORG_ID, PROFILE_ID
from customer_profiles.edge.routes import ERROR_RESPONSES
from customer_profiles.errors import InvalidInput
from customer_profiles.models.api import (
    AttachIdentifierRequest,
    ClaimStaffResponse,
    IdentificationReportResponse,
    OrgProfileDetailResponse,
    OrgProfileExport,
    OrgProfileListResponse,
    OrgProfileResponse,
    OrgSettingsRequest,
    OrgSettingsResponse,
    PosSaleRequest,
    PosSaleResponse,
    ProfileActivityResponse,
    ProfileExport,
    ProfileUpdateRequest,
    StaffListResponse,
    StaffMemberRequest,
    StaffMemberResponse,
    UnlinkRequest,
    UnmergeResponse,
)
from customer_profiles.models.consents import ConsentsRequest, ConsentsResponse
from customer_profiles.models.domain import Entitlement

function = ApiFunction(OrgApiSettings, tag="org")
app, route, store, metrics, logger = function.app, function.route, function.store, function.metrics, function.logger

SEARCH_VALUE = Annotated[str | None, Query(min_length=1, max_length=254)]
# An OpenID Connect subject: at most 255 ASCII characters (Cognito's are UUIDs; others hold `|`, `@`...).
SUBJECT = Annotated[str, Path(pattern=r"^[\x21-\x7e]{1,255}$")]


@route.post("/v1/orgs/<org_id>/pos/sales", {201: PosSaleResponse})
def create_pos_sale(
    org_id: ORG_ID, sale: PosSaleRequest, idempotency_key: IDEMPOTENCY_KEY = None
) -> Response[dict[str, Any]]:
    principal = principal_of(app)
    # A sale that states no consents leaves the field out of the payload (its key matches such sales' keys).
    unstated = {"consents"} if sale.consents is None else None
    payload = {"org_id": org_id, "sale": sale.model_dump(mode="json", exclude=unstated)}
    once = under_key("create_pos_sale", **keyed_by(app, principal, org_id=org_id), payload=payload)
    receipt_code_days = function.settings().receipt_code_expiry_days
    sold = pos.create_pos_sale(
        store(),
        principal,
        org_id,
        sale,
        once,
        receipt_code_days=receipt_code_days,
        receipt_keys=secret_store.receipt_code_keys,
    )
    metrics.add_metric(name="PosSales", unit="Count", value=1)
    return Response(status_code=201, content_type=content_types.APPLICATION_JSON, body=sold.model_dump(mode="json"))


@route.get("/v1/orgs/<org_id>/profiles", {200: OrgProfileListResponse})
def list_org_profiles(  # noqa: PLR0917 - query parameters, passed by name
    org_id: ORG_ID,
    email: SEARCH_VALUE = None,
    phone: SEARCH_VALUE = None,
    name: SEARCH_VALUE = None,
    limit: LIMIT = 25,
    cursor: CURSOR = None,
) -> OrgProfileListResponse:
    searches: list[tuple[org_console.SearchField, str | None]] = [("email", email), ("phone", phone), ("name", name)]
    given = [(by, value) for by, value in searches if value]
    if len(given) > 1:
        raise InvalidInput("search by one of email, phone or name at a time", field=given[1][0])
    return org_console.list_profiles(
        store(), principal_of(app), org_id, search=given[0] if given else None, limit=limit, cursor=cursor
    )


@route.get("/v1/orgs/<org_id>/profiles/<profile_id>", {200: OrgProfileDetailResponse})
def read_org_profile(
    org_id: ORG_ID, profile_id: PROFILE_ID, limit: LIMIT = 25, cursor: CURSOR = None
) -> OrgProfileDetailResponse:
    return org_console.read_profile(store(), principal_of(app), org_id, profile_id, limit=limit, cursor=cursor)


@route.get("/v1/orgs/<org_id>/profiles/<profile_id>/activity", {200: ProfileActivityResponse})
def list_profile_activity(
    org_id: ORG_ID, profile_id: PROFILE_ID, limit: LIMIT = 25, cursor: CURSOR = None
) -> ProfileActivityResponse:
    return activity.profile_activity(store(), principal_of(app), org_id, profile_id, limit=limit, cursor=cursor)


@route.patch("/v1/orgs/<org_id>/profiles/<profile_id>", {200: OrgProfileResponse})
def update_org_profile(org_id: ORG_ID, profile_id: PROFILE_ID, update: ProfileUpdateRequest) -> OrgProfileResponse:
    return org_console.update_profile(store(), principal_of(app), org_id, profile_id, update)


@route.put(
    "/v1/orgs/<org_id>/profiles/<profile_id>/consents",
    {200: ConsentsResponse},
    description="Staff `admin` or `pos`: record what the customer said (source `pos`, with who recorded it). The "
    "latest statement wins by `stated_at`: an older one changes nothing and the answer is the current state.",
)
def record_consents(org_id: ORG_ID, profile_id: PROFILE_ID, request: ConsentsRequest) -> ConsentsResponse:
    return consents.record_by_staff(store(), principal_of(app), org_id, profile_id, request)


@route.post("/v1/orgs/<org_id>/profiles/<profile_id>/identifiers", {200: OrgProfileResponse})
def attach_identifier(
    org_id: ORG_ID, profile_id: PROFILE_ID, identifier: AttachIdentifierRequest
) -> OrgProfileResponse:
    return org_console.attach_identifier(store(), principal_of(app), org_id, profile_id, identifier)


@route.post(
    "/v1/orgs/<org_id>/profiles/<profile_id>/unlink",
    {200: OrgProfileResponse},
    description="`admin`: undo a link. A profile an email or phone linked to a customer account (by their proof, or "
    "an admin's attach) goes back to a dormant holder of what it was captured with, less what that account holds "
    "(an existing holder with no profile here, else a new one), else to nobody; its orders and entitlements follow "
    "and leave the person's history. Flagged `needs_review`; publishes ProfileUnlinked. Never linked (or made by the "
    "account) -> 409 `not_linked`; linked longer ago than the retention time -> 409 `lineage_expired`; another "
    "`version` -> 409.",
)
def unlink_profile(org_id: ORG_ID, profile_id: PROFILE_ID, request: UnlinkRequest) -> OrgProfileResponse:
    return unlink.unlink_profile(store(), principal_of(app), org_id, profile_id, request)


@route.post("/v1/orgs/<org_id>/profiles/<profile_id>/entitlements/<entitlement_id>/void", {200: Entitlement})
def void_entitlement(org_id: ORG_ID, profile_id: PROFILE_ID, entitlement_id: ENTITLEMENT_ID) -> Entitlement:
    return org_console.void_entitlement(store(), principal_of(app), org_id, profile_id, entitlement_id)


@route.post(
    "/v1/orgs/<org_id>/profiles/<profile_id>/unmerge",
    {202: UnmergeResponse},
    description="`admin`: undo the merge of this profile (the merged-in one) into another of the same person: its "
    "own orders and entitlements, consents, emails, phones and cards go back to it, and it goes back to its user "
    "before the merge, or the dormant holder of an identifier captured on it, or to nobody; whatever the other "
    "profile gained by itself stays. Done by an effect (202 with the profile marked `unmerging_at`; asking again "
    "while it runs answers the same); publishes ProfilesUnmerged. 409 `not_merged` when it is not merged (also "
    "once the unmerge is done), `lineage_expired` when the merge is older than the lineage's retention time.",
)
def unmerge_profile(org_id: ORG_ID, profile_id: PROFILE_ID) -> Response[dict[str, Any]]:
    profile = unmerge.request_unmerge(store(), principal_of(app), org_id, profile_id)
    view = org_console.org_views(store(), [profile])[0]
    body = UnmergeResponse(**view.model_dump(), merged_into=profile.merged_into, unmerging_at=profile.unmerging_at)
    return Response(status_code=202, content_type=content_types.APPLICATION_JSON, body=body.model_dump(mode="json"))


@route.get(
    "/v1/orgs/<org_id>/profiles/<profile_id>/export",
    {200: OrgProfileExport},
    description="`admin`: what the org holds about this customer (a data request): the profile with what was "
    "captured, and page by page its orders and entitlements (follow `next_cursor`).",
)
def export_profile(org_id: ORG_ID, profile_id: PROFILE_ID, cursor: CURSOR = None) -> OrgProfileExport:
    return privacy.export_org_profile(store(), principal_of(app), org_id, profile_id, cursor=cursor)


@route.post(
    "/v1/orgs/<org_id>/profiles/<profile_id>/erase",
    {200: ProfileExport},
    description="`admin`: erase this customer's profile in this org only (names, image, birth date, captured "
    "contact and ID digits, cards; orders and entitlements stay, no longer leading to a person); the person's "
    "account and other orgs are untouched. Publishes CustomerErased. Idempotent.",
)
def erase_profile(org_id: ORG_ID, profile_id: PROFILE_ID) -> ProfileExport:
    erased = privacy.erase_org_profile(store(), principal_of(app), org_id, profile_id)
    metrics.add_metric(name="CustomersErased", unit="Count", value=1)
    return erased


@route.post(
    "/v1/orgs/<org_id>/claims/<claim_id>/resend",
    {202: ClaimStaffResponse},
    description="Staff `admin` or `pos`: send an open claim's notification again (the same link): at most 5 times, "
    "once per 10 minutes (429 with Retry-After); a claim that is not open -> 409.",
)
def resend_claim(org_id: ORG_ID, claim_id: CLAIM_ID) -> Response[dict[str, Any]]:
    claim = claim_lifecycle.resend_by_staff(
        store(), principal_of(app), org_id, claim_id, secret_store.claim_token_key()
    )
    metrics.add_metric(name="ClaimsResent", unit="Count", value=1)
    body = ClaimStaffResponse.of(claim).model_dump(mode="json")
    return Response(status_code=202, content_type=content_types.APPLICATION_JSON, body=body)


@route.post(
    "/v1/orgs/<org_id>/claims/<claim_id>/cancel",
    {200: ClaimStaffResponse},
    description="Staff `admin` or `pos`: cancel a claim (its link dies, its pending entitlements are voided). "
    "Cancelling again answers the same; a claim accepted already -> 409.",
)
def cancel_claim(org_id: ORG_ID, claim_id: CLAIM_ID) -> ClaimStaffResponse:
    done = claim_lifecycle.cancel_by_staff(store(), principal_of(app), org_id, claim_id, secret_store.claim_token_key())
    metrics.add_metric(name="ClaimsCancelled", unit="Count", value=1)
    return ClaimStaffResponse.of(done.claim, done.voided)


@route.get("/v1/orgs/<org_id>/staff", {200: StaffListResponse})
def list_staff(org_id: ORG_ID, limit: LIMIT = 50, cursor: CURSOR = None) -> StaffListResponse:
    found, next_cursor = memberships.list_staff(store(), principal_of(app), org_id, limit=limit, cursor=cursor)
    return StaffListResponse(staff=[StaffMemberResponse.of(m) for m in found], next_cursor=next_cursor)


@route.put("/v1/orgs/<org_id>/staff/<subject>", {200: StaffMemberResponse, 201: StaffMemberResponse})
def put_staff_member(org_id: ORG_ID, subject: SUBJECT, member: StaffMemberRequest) -> Response[dict[str, Any]]:
    membership, created = memberships.put_staff(store(), principal_of(app), org_id, subject, member.roles)
    body = StaffMemberResponse.of(membership).model_dump(mode="json")
    return Response(status_code=201 if created else 200, content_type=content_types.APPLICATION_JSON, body=body)


@route.delete("/v1/orgs/<org_id>/staff/<subject>", {204: None})
def remove_staff_member(org_id: ORG_ID, subject: SUBJECT) -> Response[None]:
    memberships.remove_staff(store(), principal_of(app), org_id, subject)
    return Response(status_code=204)


@route.get(
    "/v1/orgs/<org_id>/settings",
    {200: OrgSettingsResponse},
    description="`admin`: the org's settings (`pos_capture`: `suggest` until changed) and their version.",
)
def read_org_settings(org_id: ORG_ID) -> OrgSettingsResponse:
    return org_settings.read_settings(store(), principal_of(app), org_id)


@route.put(
    "/v1/orgs/<org_id>/settings",
    {200: OrgSettingsResponse},
    description="`admin`: change the settings, with the `version` read (another -> 409). The same settings "
    "again change nothing. Each change is on the org's trail (`GET /v1/orgs/{org_id}/activity`).",
)
def change_org_settings(org_id: ORG_ID, change: OrgSettingsRequest) -> OrgSettingsResponse:
    return org_settings.change_settings(store(), principal_of(app), org_id, change)


@route.get(
    "/v1/orgs/<org_id>/activity",
    {200: ProfileActivityResponse},
    description="`admin`: the org's own trail (settings changes: which, from what to what, by whom), newest first.",
)
def list_org_activity(org_id: ORG_ID, limit: LIMIT = 25, cursor: CURSOR = None) -> ProfileActivityResponse:
    return activity.org_activity(store(), principal_of(app), org_id, limit=limit, cursor=cursor)


REPORT_ANSWERS = {
    200: {
        "description": "OK",
        "content": {
            "application/json": {"model": IdentificationReportResponse},
            "text/csv": {"schema": {"type": "string", "description": "format=csv: a header line, then one per row"}},
        },
    },
    **ERROR_RESPONSES,
}


@route.get(
    "/v1/orgs/<org_id>/reports/identification",
    {},
    description="`admin` or `viewer`: how well the org knows its customers, per period (UTC days; `by` day, "
    "ISO week or month) and channel, or per period and till (`by_staff=true`, window sales). `from`/`to`: "
    "days, inclusive, at most 366 of them (default: the last 30). A page holds `limit` periods (default: all; "
    "31 by staff); `next_cursor` (JSON) or the `Next-Cursor` header (CSV) gives the next. `format=csv` for "
    "spreadsheets.",
    responses=REPORT_ANSWERS,
)
def identification_report(  # noqa: PLR0917 - query parameters, passed by name
    org_id: ORG_ID,
    from_day: Annotated[date | None, Query(alias="from", description="First day, YYYY-MM-DD (UTC)")] = None,
    to_day: Annotated[date | None, Query(alias="to", description="Last day, YYYY-MM-DD (UTC), inclusive")] = None,
    by: Annotated[Literal["day", "week", "month"], Query()] = "day",
    by_staff: Annotated[bool, Query()] = False,
    format: Annotated[Literal["json", "csv"], Query()] = "json",
    limit: Annotated[int | None, Query(ge=1, le=report.MAX_PERIODS)] = None,
    cursor: CURSOR = None,
) -> Response[Any]:
    query = report.ReportQuery(from_day, to_day, by, by_staff, limit, cursor)
    found = report.identification_report(store(), principal_of(app), org_id, query)
    if format == "csv":
        name = f"identification-{org_id}-{found.first_day}-{found.last_day}.csv"
        headers = {"Content-Disposition": f'attachment; filename="{name}"'}
        if found.next_cursor:
            headers["Next-Cursor"] = found.next_cursor
        return Response(200, "text/csv; charset=utf-8", report.report_csv(found), headers=headers)
    return Response(200, content_types.APPLICATION_JSON, found.model_dump(mode="json"))


handler = function.handler
function.prepare_snapshot(unauthenticated=("GET", "/v1/orgs/snapshot/staff"))
