"""A person's export and erasure, and an org's, over HTTP on the local runtime (DynamoDB Local, the stream
and the linker running). The erasure is checked against every item of the table."""

import json
import uuid

import boto3
import pytest

from tests.integration.conftest import TABLE
from tests.integration.test_linking import LINES, pos_sale

pytestmark = pytest.mark.integration
IDEMPOTENCY_TABLE = TABLE.replace("customer-profiles-", "customer-profiles-idempotency-")


def all_items(runtime) -> list[dict]:
    """Every item of the profiles table and of the idempotent answers' table."""
    dynamodb = boto3.resource(
        "dynamodb",
        endpoint_url=runtime.dynamodb_endpoint,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    items = []
    for table in (runtime.table(), dynamodb.Table(IDEMPOTENCY_TABLE)):
        start = None
        while True:
            page = table.scan(**({"ExclusiveStartKey": start} if start else {}))
            items += page["Items"]
            start = page.get("LastEvaluatedKey")
            if not start:
                break
    return items


def holding(items, *values) -> list[dict]:
    """The items in which any of `values` appears anywhere (keys, attributes, nested), case-insensitive."""
    lowered = [v.lower() for v in values]
    return [i for i in items if any(v in json.dumps(i, default=str).lower() for v in lowered)]


def counts_in(items, org_id) -> tuple[int, int]:
    mine = [i for i in items if str(i.get("pk", "")).startswith(f"ORG#{org_id}#PROFILE#")]
    return sum(i.get("type") == "order" for i in mine), sum(i.get("type") == "entitlement" for i in mine)


def purchase(runtime, token, org_id):
    response = runtime.call(
        "POST",
        f"/v1/orgs/{org_id}/orders",
        token,
        json_body={"currency": "EUR", "payment_method": "card", "lines": LINES},
        headers={"Idempotency-Key": uuid.uuid4().hex},
    )
    assert response.status_code == 201, response.text
    return response.json()


def seeded_person(runtime):
    """A person with profiles in three orgs: a window sale with their email, phone, name and ID digits before
    they signed up (activated on sign-up), and two purchases in the app."""
    tag = uuid.uuid4().hex[:8]
    email, phone, family = f"erin-{tag}@example.com", "+4479111" + str(uuid.uuid4().int % 10**5).zfill(5), f"Zq{tag}"
    orgs = [f"org-{tag}-{n}" for n in range(3)]
    customer = {
        "email": email,
        "phone": phone,
        "given_name": "Erin",
        "family_name": family,
        "id_document": {"type": "passport", "last_digits": "4321"},
    }
    pos_sale(runtime, orgs[0], customer)
    token = runtime.token(
        f"erin-{tag}", email=email, email_verified=True, phone_number=phone, phone_number_verified=True
    )
    assert runtime.call("PUT", "/v1/me", token).status_code in (200, 201)
    for org_id in orgs[1:]:
        purchase(runtime, token, org_id)
        purchase(runtime, token, org_id)
    # every history entry has reached the user (the window sale's through the activation's re-key)
    runtime.wait_for(
        lambda: len(runtime.call("GET", "/v1/me/history", token, params={"limit": 100}).json()["entries"]) == 15
    )
    return token, email, phone, family, orgs


def export_pages(runtime, token) -> list[dict]:
    pages, cursor = [], None
    while True:
        response = runtime.call("GET", "/v1/me/export", token, params={"cursor": cursor} if cursor else {})
        assert response.status_code == 200, response.text
        pages.append(response.json())
        cursor = pages[-1]["next_cursor"]
        if cursor is None:
            return pages


def created_in(pages) -> set[str]:
    return {a["org_id"] for page in pages for a in page["activity"] if a["entry"]["kind"] == "created"}


def test_an_export_holds_everything_about_a_person_in_three_orgs(runtime):
    token, email, phone, family, orgs = seeded_person(runtime)

    # the activity trail is written by the linker from the stream: an export made after it settled
    pages = runtime.wait_for(
        lambda: (found := export_pages(runtime, token)) and created_in(found) == set(orgs) and found
    )

    first = pages[0]
    assert {i["kind"]: (i["value"], i["provenance"]) for i in first["identifiers"]} == {
        "email": (email, "verified"),
        "phone": (phone, "verified"),
    }
    assert sorted(p["org_id"] for p in first["profiles"]) == sorted(orgs)
    window = next(p for p in first["profiles"] if p["org_id"] == orgs[0])
    assert window["attributes"]["family_name"] == family and window["captured"]["id_document"]["last_digits"] == "4321"
    history = [e for page in pages for e in page["history"]]
    assert sum(e["type"] == "order" for e in history) == 5 and sum(e["type"] == "entitlement" for e in history) == 10
    assert {e["org_id"] for e in history} == set(orgs)
    # and each profile's activity trail: how it was made, at least
    activity = [a for page in pages for a in page["activity"]]
    assert created_in(pages) == set(orgs)
    assert email not in json.dumps(activity) and family not in json.dumps(activity)


def test_an_erasure_leaves_no_trace_of_the_person_and_every_org_its_records(runtime):
    # Given a person in three orgs
    token, email, phone, family, orgs = seeded_person(runtime)
    before = all_items(runtime)
    counts = {org_id: counts_in(before, org_id) for org_id in orgs}
    assert holding(before, email, phone, family)

    # When they erase themselves (twice: the second answers the same)
    assert runtime.call("DELETE", "/v1/me", token).status_code == 204
    assert runtime.call("DELETE", "/v1/me", token).status_code == 204

    # Then, once the stream has run, no item holds their email, phone or name, and each org keeps its orders
    # and entitlements, leading to nobody
    def traced():
        items = all_items(runtime)
        keyed = [i for i in items if i.get("type") in ("order", "entitlement") and any(o in i["pk"] for o in orgs)]
        return holding(items, email, phone, family) or [i for i in keyed if "user_id" in i or "gsi1pk" in i]

    runtime.wait_for(lambda: not traced())
    after = all_items(runtime)
    assert {org_id: counts_in(after, org_id) for org_id in orgs} == counts
    assert any(e["detail-type"] == "UserErased" for e in runtime.published())
    # the same token reads nothing
    assert runtime.call("GET", "/v1/me", token).status_code == 404
    assert runtime.call("GET", "/v1/me/history", token).status_code in (200, 404)
    history = runtime.call("GET", "/v1/me/history", token)
    assert history.status_code == 404 or history.json()["entries"] == []
    assert runtime.call("GET", "/v1/me/export", token).status_code == 404
    # staff find nothing by the old email, phone or name
    viewer = runtime.token(f"v-{uuid.uuid4().hex[:6]}", org_id=orgs[0], roles=["viewer"])
    for query in ({"email": email}, {"phone": phone}, {"name": family}):
        found = runtime.call("GET", f"/v1/orgs/{orgs[0]}/profiles", viewer, params=query)
        assert found.status_code == 200 and found.json()["profiles"] == [], (query, found.text)
    # and signing up again starts fresh: a new user, no profiles
    again = runtime.call("PUT", "/v1/me", token)
    assert again.status_code == 201, again.text
    assert runtime.call("GET", "/v1/me/profiles", token).json()["profiles"] == []


def test_an_org_erases_its_customer_and_nothing_else(runtime):
    token, email, _, _, orgs = seeded_person(runtime)
    admin = runtime.token(f"a-{uuid.uuid4().hex[:6]}", org_id=orgs[0], roles=["admin"])
    viewer = runtime.token(f"v-{uuid.uuid4().hex[:6]}", org_id=orgs[0], roles=["viewer"])
    (profile,) = runtime.call("GET", f"/v1/orgs/{orgs[0]}/profiles", viewer, params={"email": email}).json()["profiles"]
    profile_id = profile["profile_id"]

    exported = runtime.call("GET", f"/v1/orgs/{orgs[0]}/profiles/{profile_id}/export", admin)
    assert exported.status_code == 200 and exported.json()["profile"]["captured"]["email"] == email
    assert len(exported.json()["orders"]) == 1 and len(exported.json()["entitlements"]) == 2
    assert runtime.call("POST", f"/v1/orgs/{orgs[0]}/profiles/{profile_id}/erase", viewer).status_code == 403
    other_admin = runtime.token(f"a-{uuid.uuid4().hex[:6]}", org_id=orgs[1], roles=["admin"])
    assert runtime.call("POST", f"/v1/orgs/{orgs[0]}/profiles/{profile_id}/erase", other_admin).status_code == 404

    erased = runtime.call("POST", f"/v1/orgs/{orgs[0]}/profiles/{profile_id}/erase", admin)

    assert erased.status_code == 200, erased.text
    assert erased.json()["erased_at"] and erased.json()["captured"] is None
    assert set(erased.json()["attributes"].values()) == {None}
    runtime.wait_for(lambda: any(e["detail-type"] == "CustomerErased" for e in runtime.published()))
    # the org finds the customer no more; its records stay
    assert runtime.call("GET", f"/v1/orgs/{orgs[0]}/profiles", viewer, params={"email": email}).json()["profiles"] == []
    view = runtime.call("GET", f"/v1/orgs/{orgs[0]}/profiles/{profile_id}", viewer).json()
    assert len(view["orders"]) == 1 and len(view["entitlements"]) == 2
    # the person's account and other orgs are untouched
    me = runtime.call("GET", "/v1/me", token)
    assert me.status_code == 200 and me.json()["email"] == email
    profiles = runtime.call("GET", "/v1/me/profiles", token).json()["profiles"]
    assert sorted(p["org_id"] for p in profiles) == sorted(orgs[1:])
    runtime.wait_for(
        lambda: (
            {e["org_id"] for e in runtime.call("GET", "/v1/me/history", token, params={"limit": 100}).json()["entries"]}
            == set(orgs[1:])
        )
    )
    # again: the same answer
    assert (
        runtime.call("POST", f"/v1/orgs/{orgs[0]}/profiles/{profile_id}/erase", admin).json()["erased_at"]
        == (erased.json()["erased_at"])
    )
