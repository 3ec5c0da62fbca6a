"""Consent with its provenance over HTTP on the local runtime: the latest statement wins by time, not by
arrival, whoever sends it; both views show it."""

import uuid

import pytest
from boto3.dynamodb.conditions import Attr

from tests.integration.test_partners import deliver, order, register_partner
from tests.integration.test_pos import LINES, staff_token

pytestmark = pytest.mark.integration


def a_person_in(runtime, org_id):
    """A registered person with a profile in the org (made by their first order): (token, profile id)."""
    token = runtime.token()
    assert runtime.call("PUT", "/v1/me", token).status_code in (200, 201)
    bought = runtime.call(
        "POST",
        f"/v1/orgs/{org_id}/orders",
        token,
        json_body={"currency": "GBP", "payment_method": "card", "lines": LINES},
        headers={"Idempotency-Key": uuid.uuid4().hex},
    )
    assert bought.status_code == 201, bought.text
    return token, runtime.call("GET", f"/v1/orgs/{org_id}/profile", token).json()["profile_id"]


def email_consent(consents):
    return next(c for c in consents if c["purpose"] == "marketing_email")


def test_an_older_statement_changes_nothing_a_newer_one_wins_and_the_person_sees_it_once_theirs(runtime):
    # Given a window customer (their email typed at the till) who said yes to email marketing at 18:30
    org_id, email = f"org-{uuid.uuid4().hex[:8]}", f"c-{uuid.uuid4().hex[:8]}@example.com"
    admin = staff_token(runtime, org_id, "admin")
    sold = runtime.call(
        "POST",
        f"/v1/orgs/{org_id}/pos/sales",
        staff_token(runtime, org_id, "pos"),
        json_body={"currency": "GBP", "payment_method": "cash", "lines": LINES, "customer": {"email": email}},
        headers={"Idempotency-Key": uuid.uuid4().hex},
    )
    assert sold.status_code == 201, sold.text
    profile_id = sold.json()["profile"]["profile_id"]
    staff_path = f"/v1/orgs/{org_id}/profiles/{profile_id}/consents"

    def said(status, at):
        return runtime.call(
            "PUT",
            staff_path,
            admin,
            json_body={"consents": [{"purpose": "marketing_email", "status": status, "stated_at": at}]},
        )

    assert said("granted", "2026-11-01T18:30:00Z").status_code == 200

    # When staff record, later, what the customer said at 18:00 (before the grant): nothing changes
    older = said("withdrawn", "2026-11-01T18:00:00Z")
    assert older.status_code == 200, older.text
    assert email_consent(older.json()["consents"])["status"] == "granted"

    # When staff record a statement made after it: it wins, with who recorded it
    newer = said("withdrawn", "2026-11-01T19:00:00Z")
    assert email_consent(newer.json()["consents"])["status"] == "withdrawn"
    seen = runtime.call("GET", f"/v1/orgs/{org_id}/profiles/{profile_id}", admin).json()["consents"]
    assert email_consent(seen)["captured_by"]["role"] == "admin"
    assert email_consent(seen)["stated_at"] == "2026-11-01T19:00:00.000Z"

    # When the customer signs up with that email verified, the profile is theirs and so is what they said
    token = runtime.token(email=email, email_verified=True)
    assert runtime.call("PUT", "/v1/me", token).status_code == 201
    mine = runtime.call("GET", f"/v1/orgs/{org_id}/profile", token).json()["consents"]
    assert {(c["purpose"], c["status"], c["source"]) for c in mine} == {
        ("marketing_email", "withdrawn", "pos"),
        ("marketing_sms", "unknown", None),
    }
    assert email_consent(mine).get("captured_by") is None

    # And from then on staff cannot speak for them: the person states their own
    assert said("granted", "2026-11-01T20:00:00Z").status_code == 409


def test_consent_routes_refuse_viewers_other_orgs_and_bad_bodies_without_a_server_error(runtime):
    org_id = f"org-{uuid.uuid4().hex[:8]}"
    token, profile_id = a_person_in(runtime, org_id)
    path = f"/v1/orgs/{org_id}/profiles/{profile_id}/consents"
    body = {"consents": [{"purpose": "marketing_sms", "status": "granted"}]}

    assert runtime.call("PUT", path, staff_token(runtime, org_id, "viewer"), json_body=body).status_code == 403
    assert runtime.call("PUT", path, staff_token(runtime, "org-elsewhere", "admin"), json_body=body).status_code == 404
    bad = runtime.call(
        "PUT", f"/v1/orgs/{org_id}/profile/consents", token, json_body={"consents": [{"purpose": "x", "status": "no"}]}
    )
    assert bad.status_code == 422
    assert {d["field"] for d in bad.json()["error"]["details"]} == {"consents.0.purpose", "consents.0.status"}
    future = runtime.call(
        "PUT",
        f"/v1/orgs/{org_id}/profile/consents",
        token,
        json_body={
            "consents": [{"purpose": "marketing_sms", "status": "granted", "stated_at": "2999-01-01T00:00:00Z"}]
        },
    )
    assert (future.status_code, future.json()["error"]["field"]) == (422, "consents.0.stated_at")


def test_a_sale_and_a_partner_order_record_consents_with_who_captured_them(runtime):
    org_id = f"org-{uuid.uuid4().hex[:8]}"
    seller = staff_token(runtime, org_id, "pos")
    sold = runtime.call(
        "POST",
        f"/v1/orgs/{org_id}/pos/sales",
        seller,
        json_body={
            "currency": "GBP",
            "payment_method": "cash",
            "lines": LINES,
            "customer": {"email": f"walkup-{uuid.uuid4().hex[:6]}@example.com"},
            "consents": [{"purpose": "marketing_email", "status": "granted"}],
        },
        headers={"Idempotency-Key": uuid.uuid4().hex},
    )
    assert sold.status_code == 201, sold.text
    profile_id = sold.json()["profile"]["profile_id"]
    seen = runtime.call("GET", f"/v1/orgs/{org_id}/profiles/{profile_id}", seller).json()["consents"]
    assert email_consent(seen)["source"] == "pos" and email_consent(seen)["captured_by"]["role"] == "pos"

    partner_id, secret = register_partner(runtime, org_id)
    body = {
        **order(org_id, f"buyer-{uuid.uuid4().hex[:6]}@example.com"),
        "consents": [{"purpose": "marketing_sms", "status": "granted", "stated_at": "2026-11-01T12:00:00Z"}],
    }
    assert deliver(runtime, partner_id, secret, body).status_code == 201
    table = runtime.table()
    items, arguments = [], {"FilterExpression": Attr("type").eq("consent") & Attr("org_id").eq(org_id)}
    while True:  # every page: the session's table is shared
        page = table.scan(**arguments)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            break
        arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    assert {(i["purpose"], i["source"], i.get("actor_partner_id")) for i in items} == {
        ("marketing_email", "pos", None),
        ("marketing_sms", "partner", partner_id),
    }
