"""Point of sale and the staff API over HTTP on the local runtime."""

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from boto3.dynamodb.conditions import Key

pytestmark = pytest.mark.integration

LINES = [{"kind": "ticket", "item_id": "ev-7", "quantity": 1, "unit_price": 2000}]


def staff_token(runtime, org_id, *roles):
    return runtime.token(
        f"staff-{uuid.uuid4().hex[:6]}", org_id=org_id, roles=list(roles) or ["pos"], client_id="local-staff-console"
    )


def sell(runtime, token, org_id, customer=None, payment_method="cash", key=None):
    return runtime.call(
        "POST",
        f"/v1/orgs/{org_id}/pos/sales",
        token,
        json_body={"currency": "GBP", "payment_method": payment_method, "lines": LINES, "customer": customer or {}},
        headers={"Idempotency-Key": key or uuid.uuid4().hex},
    )


def test_concurrent_sales_with_one_new_email_create_one_dormant_user(runtime):
    org_id = f"org-{uuid.uuid4().hex[:8]}"
    seller = staff_token(runtime, org_id, "pos")
    email = f"walkup-{uuid.uuid4().hex[:8]}@example.com"

    with ThreadPoolExecutor(max_workers=12) as pool:
        responses = list(pool.map(lambda _: sell(runtime, seller, org_id, {"email": email}), range(12)))

    assert [r.status_code for r in responses] == [201] * 12
    assert len({r.json()["profile"]["profile_id"] for r in responses}) == 1
    table = runtime.table()
    holder = table.get_item(Key={"pk": f"IDENT#email#{email}", "sk": "IDENT"})["Item"]["user_id"]
    assert table.get_item(Key={"pk": f"USER#{holder}", "sk": "USER"})["Item"]["status"] == "dormant"
    profiles = table.query(
        IndexName="gsi1",
        KeyConditionExpression=Key("gsi1pk").eq(f"USER#{holder}") & Key("gsi1sk").begins_with("PROFILE#"),
    )["Items"]
    assert len(profiles) == 1
    orders = table.query(
        IndexName="gsi1", KeyConditionExpression=Key("gsi1pk").eq(f"USER#{holder}") & Key("gsi1sk").begins_with("HIST#")
    )["Items"]
    assert sum(1 for o in orders if o["type"] == "order") == 12


def test_a_retried_sale_is_one_sale_and_a_changed_retry_is_refused(runtime):
    org_id = f"org-{uuid.uuid4().hex[:8]}"
    seller = staff_token(runtime, org_id, "pos")

    first = sell(runtime, seller, org_id, {"given_name": "Ivo"}, key="till-1-0001")
    retry = sell(runtime, seller, org_id, {"given_name": "Ivo"}, key="till-1-0001")
    changed = sell(runtime, seller, org_id, {"given_name": "Eve"}, key="till-1-0001")
    missing = runtime.call(
        "POST",
        f"/v1/orgs/{org_id}/pos/sales",
        seller,
        json_body={"currency": "GBP", "payment_method": "cash", "lines": LINES},
    )

    assert first.status_code == retry.status_code == 201 and retry.json() == first.json()
    assert changed.status_code == 422
    assert missing.status_code == 400


def test_staff_of_another_org_and_users_get_404_everywhere(runtime):
    org_id = f"org-{uuid.uuid4().hex[:8]}"
    made = sell(runtime, staff_token(runtime, org_id, "pos"), org_id, {"email": f"{uuid.uuid4().hex[:8]}@example.com"})
    profile_id = made.json()["profile"]["profile_id"]
    entitlement_id = made.json()["entitlements"][0]["entitlement_id"]
    intruders = [staff_token(runtime, "org-elsewhere", "admin", "pos", "viewer"), runtime.token()]

    for token in intruders:
        for method, path, body in [
            ("GET", f"/v1/orgs/{org_id}/profiles", None),
            ("GET", f"/v1/orgs/{org_id}/profiles/{profile_id}", None),
            ("PATCH", f"/v1/orgs/{org_id}/profiles/{profile_id}", {"version": 1, "attributes": {}}),
            ("POST", f"/v1/orgs/{org_id}/profiles/{profile_id}/identifiers", {"version": 1, "email": "x@example.com"}),
            ("POST", f"/v1/orgs/{org_id}/profiles/{profile_id}/entitlements/{entitlement_id}/void", None),
        ]:
            response = runtime.call(method, path, token, json_body=body)
            assert response.status_code == 404, (method, path, response.text)
        assert sell(runtime, token, org_id).status_code == 404
    # and the profile is untouched
    reader = staff_token(runtime, org_id, "viewer")
    detail = runtime.call("GET", f"/v1/orgs/{org_id}/profiles/{profile_id}", reader).json()
    assert detail["profile"]["version"] == 1 and detail["entitlements"][0]["status"] == "active"


def test_the_staff_api_end_to_end(runtime):
    org_id = f"org-{uuid.uuid4().hex[:8]}"
    seller, admin, viewer = (staff_token(runtime, org_id, role) for role in ("pos", "admin", "viewer"))

    orphan = sell(runtime, seller, org_id, {"given_name": "Rui", "family_name": "Costa"}).json()["profile"]
    carded = sell(runtime, seller, org_id, {"card_fingerprint": "fp_abcdef123"}, payment_method="card").json()
    again = sell(runtime, seller, org_id, {"card_fingerprint": "fp_abcdef123"}, payment_method="card").json()
    assert again["profile"]["profile_id"] == carded["profile"]["profile_id"]

    by_name = runtime.call("GET", f"/v1/orgs/{org_id}/profiles", viewer, params={"name": "cos"}).json()
    assert [p["profile_id"] for p in by_name["profiles"]] == [orphan["profile_id"]]
    listing = runtime.call("GET", f"/v1/orgs/{org_id}/profiles", viewer).json()["profiles"]
    assert [p["profile_id"] for p in listing] == [carded["profile"]["profile_id"], orphan["profile_id"]]

    attached = runtime.call(
        "POST",
        f"/v1/orgs/{org_id}/profiles/{orphan['profile_id']}/identifiers",
        admin,
        json_body={"version": 1, "email": f"rui-{uuid.uuid4().hex[:6]}@example.com"},
    )
    assert attached.status_code == 200 and attached.json()["linked_account"] is False
    stale = runtime.call(
        "PATCH",
        f"/v1/orgs/{org_id}/profiles/{orphan['profile_id']}",
        admin,
        json_body={"version": 1, "attributes": {"display_name": "R"}},
    )
    assert stale.status_code == 409
    viewer_edit = runtime.call(
        "PATCH",
        f"/v1/orgs/{org_id}/profiles/{orphan['profile_id']}",
        viewer,
        json_body={"version": 2, "attributes": {"display_name": "R"}},
    )
    assert viewer_edit.status_code == 403

    entitlement_id = carded["entitlements"][0]["entitlement_id"]
    void = runtime.call(
        "POST",
        f"/v1/orgs/{org_id}/profiles/{carded['profile']['profile_id']}/entitlements/{entitlement_id}/void",
        admin,
    )
    assert void.status_code == 200 and void.json()["status"] == "void"


def test_invalid_identifiers_are_422_naming_the_field(runtime):
    org_id = f"org-{uuid.uuid4().hex[:8]}"
    response = sell(runtime, staff_token(runtime, org_id, "pos"), org_id, {"email": "nope@"})

    assert response.status_code == 422
    assert response.json()["error"]["field"] == "customer.email"


def test_the_staff_profile_view_pages_newest_first_over_http(runtime):
    # Given a customer with 6 sales of one ticket each at a venue
    org_id = f"org-{uuid.uuid4().hex[:8]}"
    seller, viewer = staff_token(runtime, org_id, "pos"), staff_token(runtime, org_id, "viewer")
    email = f"regular-{uuid.uuid4().hex[:8]}@example.com"
    sales = [sell(runtime, seller, org_id, {"email": email}).json() for _ in range(6)]
    profile_id = sales[0]["profile"]["profile_id"]
    path = f"/v1/orgs/{org_id}/profiles/{profile_id}"

    # When staff walk the profile view 5 children (orders and entitlements together) at a time
    pages, cursor = [], None
    while True:
        answer = runtime.call("GET", path, viewer, params={"limit": 5, **({"cursor": cursor} if cursor else {})})
        assert answer.status_code == 200, answer.text
        pages.append(answer.json())
        cursor = pages[-1]["next_cursor"]
        if cursor is None:
            break

    # Then every order and entitlement comes once, newest first, and the profile with every page
    assert [len(p["orders"]) + len(p["entitlements"]) for p in pages] == [5, 5, 2]
    orders = [o["order_id"] for p in pages for o in p["orders"]]
    assert orders == [s["order"]["order_id"] for s in reversed(sales)]
    entitlements = [e["entitlement_id"] for p in pages for e in p["entitlements"]]
    assert entitlements == [s["entitlements"][0]["entitlement_id"] for s in reversed(sales)]
    assert {p["profile"]["profile_id"] for p in pages} == {profile_id}
    # and a cursor that is not this view's, or a limit out of range, is a JSON 422
    for params in ({"cursor": "bm90IGEgY3Vyc29y"}, {"cursor": pages[0]["next_cursor"][::-1]}, {"limit": 101}):
        refused = runtime.call("GET", path, viewer, params=params)
        assert refused.status_code == 422, (params, refused.text)
        assert refused.json()["error"]["code"]
