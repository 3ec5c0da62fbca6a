"""App channels over HTTP on the local runtime (DynamoDB Local): the invariants under real concurrency."""

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from boto3.dynamodb.conditions import Key

from scripts.operator import main as operator

pytestmark = pytest.mark.integration

ORDER = {
    "currency": "EUR",
    "payment_method": "card",
    "lines": [{"kind": "ticket", "item_id": "ev-1", "quantity": 1, "unit_price": 3000}],
}


def new_org() -> str:
    return f"org-{uuid.uuid4().hex[:8]}"


def registered_user(runtime, **claims):
    token = runtime.token(**claims)
    response = runtime.call("PUT", "/v1/me", token)
    assert response.status_code == 201
    return token, response.json()["user_id"]


def order(runtime, token, org_id, key=None, body=ORDER):
    return runtime.call(
        "POST", f"/v1/orgs/{org_id}/orders", token, json_body=body, headers={"Idempotency-Key": key or uuid.uuid4().hex}
    )


def test_fifty_concurrent_first_purchases_make_one_profile_and_fifty_orders(runtime):
    # Given a registered user who never bought at this org
    token, user_id = registered_user(runtime)
    org_id = new_org()

    # When fifty first purchases arrive at once, each with its own idempotency key
    with ThreadPoolExecutor(max_workers=50) as pool:
        responses = list(pool.map(lambda _: order(runtime, token, org_id), range(50)))

    # Then all succeed, under one profile, and the table holds exactly one profile and fifty orders
    assert [r.status_code for r in responses] == [201] * 50
    profile_ids = {r.json()["order"]["profile_id"] for r in responses}
    assert len(profile_ids) == 1
    assert sum(r.json()["profile_created"] for r in responses) == 1
    table = runtime.table()
    profiles = table.query(
        IndexName="gsi1",
        KeyConditionExpression=Key("gsi1pk").eq(f"USER#{user_id}") & Key("gsi1sk").begins_with(f"PROFILE#ORG#{org_id}"),
    )["Items"]
    assert len(profiles) == 1
    stored = table.query(KeyConditionExpression=Key("pk").eq(f"ORG#{org_id}#PROFILE#{profile_ids.pop()}"))["Items"]
    assert sum(1 for item in stored if item["type"] == "order") == 50
    assert sum(1 for item in stored if item["type"] == "entitlement") == 50


def test_concurrent_retries_with_one_key_create_one_order(runtime):
    token, _ = registered_user(runtime)
    org_id = new_org()
    key = uuid.uuid4().hex

    with ThreadPoolExecutor(max_workers=10) as pool:
        responses = list(pool.map(lambda _: order(runtime, token, org_id, key=key), range(10)))

    # Each answer is the first order or "still in progress, retry"; never a second order.
    assert {r.status_code for r in responses} <= {201, 409}
    assert len({r.json()["order"]["order_id"] for r in responses if r.status_code == 201}) == 1
    history = runtime.call("GET", f"/v1/me/history?org_id={org_id}", token).json()["entries"]
    assert sum(1 for e in history if e["type"] == "order") == 1


def test_a_sequential_retry_returns_the_first_response(runtime):
    token, _ = registered_user(runtime)
    org_id = new_org()

    first = order(runtime, token, org_id, key="retry-me")
    retry = order(runtime, token, org_id, key="retry-me")
    changed = order(runtime, token, org_id, key="retry-me", body={**ORDER, "currency": "USD"})
    missing = runtime.call("POST", f"/v1/orgs/{org_id}/orders", token, json_body=ORDER)

    assert (first.status_code, retry.status_code) == (201, 201)
    assert retry.json() == first.json()
    assert (changed.status_code, changed.json()["error"]["code"]) == (422, "idempotency_key_reused")
    assert (missing.status_code, missing.json()["error"]["code"]) == (400, "missing_idempotency_key")


def test_white_label_registration_then_profile_edits_with_optimistic_concurrency(runtime):
    # Given a white-label app client registered for an org by the operator command
    org_id, client_id = new_org(), "local-whitelabel-app"
    assert (
        operator(
            [
                "--endpoint",
                runtime.dynamodb_endpoint,
                "register-app-client",
                "--client-id",
                client_id,
                "--org-id",
                org_id,
            ]
        )
        == 0
    )
    token = runtime.token(client_id=client_id, extra_claims={"given_name": "Bea", "family_name": "Stone"})

    # When the user registers through it
    registered = runtime.call("PUT", "/v1/me", token)

    # Then the profile exists in that org, seeded from the claims
    assert registered.status_code == 201
    assert registered.json()["profile"]["org_id"] == org_id
    profile = runtime.call("GET", f"/v1/orgs/{org_id}/profile", token).json()
    assert profile["attributes"]["given_name"] == "Bea" and profile["version"] == 1

    # And edits change the profile; a stale edit is a 409 that loses nothing
    edit = runtime.call(
        "PATCH", f"/v1/orgs/{org_id}/profile", token, json_body={"version": 1, "attributes": {"display_name": "Bee"}}
    )
    stale = runtime.call(
        "PATCH", f"/v1/orgs/{org_id}/profile", token, json_body={"version": 1, "attributes": {"display_name": "Lost"}}
    )
    assert edit.status_code == 200 and edit.json()["version"] == 2
    assert stale.status_code == 409
    after = runtime.call("GET", f"/v1/orgs/{org_id}/profile", token).json()
    assert after["attributes"] == {**profile["attributes"], "display_name": "Bee"}
    assert runtime.call("GET", "/v1/me", token).json()["email"] is None  # the user is untouched


def test_invalid_profile_edits_are_422(runtime):
    token, _ = registered_user(runtime)
    org_id = new_org()
    order(runtime, token, org_id)

    for body in (
        {"version": 1, "attributes": {"picture_url": "javascript:alert(1)"}},
        {"version": 1, "attributes": {"given_name": "x" * 101}},
        {"version": "1", "attributes": {}},
        {"attributes": {}},
    ):
        response = runtime.call("PATCH", f"/v1/orgs/{org_id}/profile", token, json_body=body)
        assert response.status_code == 422, body


def test_history_and_profiles_across_orgs_with_pagination(runtime):
    token, _ = registered_user(runtime)
    orgs = [new_org(), new_org()]
    for org_id in orgs + orgs:
        assert order(runtime, token, org_id).status_code == 201

    entries, cursor = [], None
    while True:
        page = runtime.call(
            "GET", "/v1/me/history", token, params={"limit": 3, **({"cursor": cursor} if cursor else {})}
        )
        assert page.status_code == 200
        entries += page.json()["entries"]
        cursor = page.json()["next_cursor"]
        if not cursor:
            break
    one_org = runtime.call("GET", "/v1/me/history", token, params={"org_id": orgs[0]}).json()["entries"]
    profiles = runtime.call("GET", "/v1/me/profiles", token).json()["profiles"]

    assert len(entries) == 8  # 4 orders, 4 entitlements, no duplicates across pages
    assert (
        len(
            {
                (
                    e["type"],
                    (e["order"] or e["entitlement"]).get("order_id"),
                    (e["entitlement"] or {}).get("entitlement_id"),
                )
                for e in entries
            }
        )
        == 8
    )
    assert [e["created_at"] for e in entries] == sorted((e["created_at"] for e in entries), reverse=True)
    assert {e["org_id"] for e in one_org} == {orgs[0]} and len(one_org) == 4
    assert sorted(p["org_id"] for p in profiles) == sorted(orgs)


def test_users_reach_only_their_own_profiles_and_history(runtime):
    alice, _ = registered_user(runtime)
    mallory, _ = registered_user(runtime)
    org_id = new_org()
    order(runtime, alice, org_id)

    assert runtime.call("GET", f"/v1/orgs/{org_id}/profile", mallory).status_code == 404
    patch = runtime.call(
        "PATCH",
        f"/v1/orgs/{org_id}/profile",
        mallory,
        json_body={"version": 1, "attributes": {"given_name": "Mallory"}},
    )
    assert patch.status_code == 404
    assert runtime.call("GET", "/v1/me/history", mallory).json()["entries"] == []
    assert runtime.call("GET", "/v1/me/profiles", mallory).json()["profiles"] == []
    alice_cursor_page = runtime.call("GET", "/v1/me/history", alice, params={"limit": 1}).json()
    stolen = runtime.call("GET", "/v1/me/history", mallory, params={"cursor": alice_cursor_page["next_cursor"]})
    assert stolen.status_code == 422


def test_staff_tokens_cannot_use_the_app_routes(runtime):
    staff = runtime.token(org_id="org-x", roles=["pos"], client_id="local-staff-console")

    assert order(runtime, staff, "org-x").status_code == 403
