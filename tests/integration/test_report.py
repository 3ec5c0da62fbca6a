"""The capture policy and the identification report over HTTP on the local runtime: each policy at the window,
the settings' versions and trail, and the report (by day, by staff, CSV) kept by the linker from DynamoDB
Local's real stream; another org's staff find nothing."""

import csv
import io
import uuid
from datetime import UTC, datetime

import pytest

pytestmark = pytest.mark.integration
LINE = {"kind": "ticket", "item_id": "ev-report", "quantity": 2, "unit_price": 2500}
TODAY = datetime.now(UTC).date().isoformat()


def new_org() -> str:
    return f"org-{uuid.uuid4().hex[:8]}"


def sell(runtime, org_id, till, customer=None, payment="cash"):
    body = {"currency": "EUR", "payment_method": payment, "customer": customer or {}, "lines": [LINE]}
    headers = {"Idempotency-Key": uuid.uuid4().hex}
    return runtime.call("POST", f"/v1/orgs/{org_id}/pos/sales", till, json_body=body, headers=headers)


def set_policy(runtime, org_id, admin, policy):
    version = runtime.call("GET", f"/v1/orgs/{org_id}/settings", admin).json()["version"]
    changed = {"version": version, "pos_capture": policy}
    response = runtime.call("PUT", f"/v1/orgs/{org_id}/settings", admin, json_body=changed)
    assert response.status_code == 200, response.text
    return response.json()


def report(runtime, org_id, token, **query):
    params = {"from": TODAY, "to": TODAY, **query}
    return runtime.call("GET", f"/v1/orgs/{org_id}/reports/identification", token, params=params)


def test_require_refuses_an_anonymous_sale_suggest_suggests_off_says_nothing(runtime):
    # Given an org, its admin and a till
    org_id = new_org()
    admin = runtime.token(org_id=org_id, roles=["admin"])
    till = runtime.token(org_id=org_id, roles=["pos"])

    # Then by default (suggest) an anonymous sale succeeds, suggesting capture, with its receipt code
    suggested = sell(runtime, org_id, till)
    assert suggested.status_code == 201 and suggested.json()["capture_suggested"] is True
    assert suggested.json()["receipt_code"]
    assert "capture_suggested" not in sell(runtime, org_id, till, {"email": "ann@example.com"}).json()

    # Under require an anonymous sale, even paid by card, is a 422 naming the policy; an emailed one is sold
    set_policy(runtime, org_id, admin, "require")
    refused = sell(runtime, org_id, till, {"card_fingerprint": "fp_abcdef123456"}, payment="card")
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "identifier_required"
    assert "require" in refused.json()["error"]["message"]
    assert sell(runtime, org_id, till, {"phone": "+447911123456"}).status_code == 201

    # Under off the anonymous sale's answer says nothing about capture
    set_policy(runtime, org_id, admin, "off")
    quiet = sell(runtime, org_id, till)
    assert quiet.status_code == 201 and "capture_suggested" not in quiet.json()


def test_settings_are_versioned_audited_and_only_an_admins(runtime):
    org_id = new_org()
    admin_subject = f"admin-{uuid.uuid4().hex[:6]}"
    admin = runtime.token(admin_subject, org_id=org_id, roles=["admin"])
    path = f"/v1/orgs/{org_id}/settings"

    assert runtime.call("GET", path, admin).json() == {
        "org_id": org_id,
        "pos_capture": "suggest",
        "version": 0,
        "updated_at": None,
    }
    assert runtime.call("PUT", path, admin, json_body={"version": 0, "pos_capture": "require"}).status_code == 200
    stale = runtime.call("PUT", path, admin, json_body={"version": 0, "pos_capture": "off"})
    assert stale.status_code == 409 and stale.json()["error"]["code"] == "conflict"
    bad = runtime.call("PUT", path, admin, json_body={"version": 1, "pos_capture": "always"})
    assert bad.status_code == 422
    assert runtime.call("PUT", path, runtime.token(org_id=org_id, roles=["pos"]), json_body={}).status_code in (
        403,
        422,
    )
    assert runtime.call("GET", path, runtime.token(org_id=org_id, roles=["viewer"])).status_code == 403
    assert runtime.call("GET", path, runtime.token(org_id=new_org(), roles=["admin"])).status_code == 404

    def audited():
        entries = runtime.call("GET", f"/v1/orgs/{org_id}/activity", admin).json()["entries"]
        return entries or None

    (entry,) = runtime.wait_for(audited)
    assert entry["kind"] == "settings_changed"
    assert (entry["previous"], entry["settings"]) == ({"pos_capture": "suggest"}, {"pos_capture": "require"})
    assert entry["actor"]["subject"] == admin_subject and entry["actor"]["role"] == "admin"


def test_the_report_by_day_and_by_staff_follows_the_sales_and_a_later_sign_up(runtime):
    # Given an anonymous sale at one till and a sale typed with an email at another
    org_id = new_org()
    tills = [f"till-a-{org_id}", f"till-b-{org_id}"]
    till_a = runtime.token(tills[0], org_id=org_id, roles=["pos"])
    till_b = runtime.token(tills[1], org_id=org_id, roles=["pos"])
    viewer = runtime.token(org_id=org_id, roles=["viewer"])
    email = f"report-{uuid.uuid4().hex[:8]}@example.com"
    assert sell(runtime, org_id, till_a).status_code == 201
    assert sell(runtime, org_id, till_b, {"email": email}).status_code == 201

    def window(**query):
        response = report(runtime, org_id, viewer, **query)
        assert response.status_code == 200, response.text
        return next(r for r in response.json()["rows"] if r["channel"] == "window")

    # When the linker has counted them, and then the customer signs up with that email verified
    runtime.wait_for(lambda: window()["sales"] == 2)
    before = window()
    person = runtime.token(email=email, email_verified=True)
    assert runtime.call("PUT", "/v1/me", person).status_code == 201
    after = runtime.wait_for(lambda: (row := window())["held"]["person"] == 1 and row)

    # Then the window's day holds both sales, and the emailed one moved from dormant to a person in that day
    assert (before["sales"], before["tickets"]) == (2, 4)
    assert before["held"]["dormant"] == 1 and before["held"]["anonymous_with_receipt"] == 1
    assert after["held"]["dormant"] == 0 and after["sales"] == 2
    assert after["dormant_holders_activated"] == 1 and after["median_seconds_to_activation"] >= 0

    # And by staff, each till has its own row
    by_staff = report(runtime, org_id, viewer, by_staff="true").json()["rows"]
    assert sorted((r["staff"], r["sales"]) for r in by_staff) == [(tills[0], 1), (tills[1], 1)]


def test_csv_for_spreadsheets_and_another_orgs_staff_get_a_404(runtime):
    org_id = new_org()
    till = runtime.token(org_id=org_id, roles=["pos"])
    admin = runtime.token(org_id=org_id, roles=["admin"])
    assert sell(runtime, org_id, till).status_code == 201
    runtime.wait_for(lambda: report(runtime, org_id, admin).json()["totals"]["sales"] == 1)

    response = report(runtime, org_id, admin, format="csv")

    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["channel"] for r in rows] == ["window", "consumer_app", "white_label", "reseller"]
    assert rows[0]["sales"] == "1" and rows[0]["held_anonymous_with_receipt"] == "1"

    stranger = runtime.token(org_id=new_org(), roles=["admin", "viewer"])
    for query in ({}, {"format": "csv"}, {"by_staff": "true"}):
        refused = report(runtime, org_id, stranger, **query)
        assert refused.status_code == 404 and refused.json()["error"]["code"] == "not_found"
    assert report(runtime, org_id, till).status_code == 403


@pytest.mark.parametrize(
    "query",
    [
        {"from": "2026-02-30"},
        {"from": "2026-03-02", "to": "2026-03-01"},
        {"from": "2024-01-01", "to": "2026-01-01"},
        {"by": "quarter"},
        {"by_staff": "maybe"},
        {"limit": "1000"},
        {"cursor": "%%%"},
    ],
)
def test_a_report_asked_wrongly_is_a_json_422_never_a_5xx(runtime, query):
    org_id = new_org()
    viewer = runtime.token(org_id=org_id, roles=["viewer"])
    response = runtime.call("GET", f"/v1/orgs/{org_id}/reports/identification", viewer, params=query)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] in ("invalid_request", "invalid_input")
