"""A profile's activity trail over HTTP on the local runtime: written by the linker from DynamoDB Local's
real stream, read by staff newest first, with actors as roles and staff subjects."""

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from tests.integration.test_linking import LINES, pos_sale

pytestmark = pytest.mark.integration


def actor(entry):
    return {k: v for k, v in entry["actor"].items() if v is not None}


def trail(runtime, token, org_id, profile_id, **query):
    response = runtime.call("GET", f"/v1/orgs/{org_id}/profiles/{profile_id}/activity", token, params=query)
    assert response.status_code == 200, response.text
    return response


def test_a_profiles_trail_through_sale_activation_edit_and_void(runtime):
    # Given a window sale to an email, by a till
    org_id = f"org-{uuid.uuid4().hex[:8]}"
    email = f"trail-{uuid.uuid4().hex[:8]}@example.com"
    sale = pos_sale(runtime, org_id, {"email": email, "given_name": "Ifeoma"})
    profile_id = sale["profile"]["profile_id"]
    till = f"till-{org_id}"

    # and the person signing up with that email verified (their dormant user is activated)
    person = runtime.token(email=email, email_verified=True)
    assert runtime.call("PUT", "/v1/me", person).status_code == 201
    user_id = runtime.call("GET", "/v1/me", person).json()["user_id"]

    # and an admin editing the profile, then voiding one of its entitlements
    admin_subject = f"admin-{uuid.uuid4().hex[:6]}"
    admin = runtime.token(admin_subject, org_id=org_id, roles=["admin"])
    version = runtime.call("GET", f"/v1/orgs/{org_id}/profiles/{profile_id}", admin).json()["profile"]["version"]
    edit = {"version": version, "attributes": {"family_name": "Okonkwo-Trail", "locale": "en-GB"}}
    assert runtime.call("PATCH", f"/v1/orgs/{org_id}/profiles/{profile_id}", admin, json_body=edit).status_code == 200
    entitlement_id = sale["entitlements"][0]["entitlement_id"]
    void = f"/v1/orgs/{org_id}/profiles/{profile_id}/entitlements/{entitlement_id}/void"
    assert runtime.call("POST", void, admin).status_code == 200

    # When a viewer reads the trail (the linker writes it from the stream, so it settles within seconds)
    viewer = runtime.token(org_id=org_id, roles=["viewer"])
    expected = {"entitlement_voided", "edited", "linked", "created", "order_placed"}

    def settled():
        found = trail(runtime, viewer, org_id, profile_id).json()["entries"]
        return found if {e["kind"] for e in found} >= expected else None

    entries = runtime.wait_for(settled)

    # Then it is newest first: the void, the edit, the link; the sale's creation and order before them
    kinds = [e["kind"] for e in entries]
    assert kinds[:3] == ["entitlement_voided", "edited", "linked"], kinds
    assert sorted(kinds[3:]) == ["created", "order_placed"], kinds
    by_kind = {e["kind"]: {**e, "actor": actor(e)} for e in entries}
    staff_admin = {"kind": "staff", "subject": admin_subject, "role": "admin"}
    assert by_kind["entitlement_voided"]["actor"] == staff_admin
    assert by_kind["entitlement_voided"]["entitlement_id"] == entitlement_id
    assert by_kind["edited"]["actor"] == staff_admin
    assert by_kind["edited"]["fields"] == ["family_name", "locale"]
    assert by_kind["linked"]["actor"]["kind"] == "customer"
    assert by_kind["created"]["origin"] == "pos"
    assert by_kind["created"]["actor"] == {"kind": "staff", "subject": till, "role": "pos"}
    times = [e["at"] for e in entries]
    assert times == sorted(times, reverse=True)

    # and the answer holds no user id and no personal value
    text = trail(runtime, viewer, org_id, profile_id).text
    for value in (user_id, email, "Ifeoma", "Okonkwo-Trail"):
        assert value not in text, value

    # and it pages: each entry once, newest first
    seen, cursor = [], None
    while True:
        page = trail(runtime, viewer, org_id, profile_id, limit=2, **({"cursor": cursor} if cursor else {})).json()
        seen += page["entries"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert json.dumps(seen, sort_keys=True) == json.dumps(entries, sort_keys=True)


def test_the_trail_is_the_orgs_own_and_a_bad_cursor_is_a_422(runtime):
    org_id = f"org-{uuid.uuid4().hex[:8]}"
    sale = pos_sale(runtime, org_id, {"email": f"iso-{uuid.uuid4().hex[:8]}@example.com"})
    path = f"/v1/orgs/{org_id}/profiles/{sale['profile']['profile_id']}/activity"
    stranger = runtime.token(org_id=f"org-{uuid.uuid4().hex[:8]}", roles=["admin"])
    viewer = runtime.token(org_id=org_id, roles=["viewer"])

    assert runtime.call("GET", path, stranger).status_code == 404
    assert runtime.call("GET", path, viewer, params={"cursor": "bm90LWEta2V5"}).status_code == 422
    assert runtime.call("GET", path, viewer, params={"limit": 0}).status_code == 422


def test_a_profiles_trail_through_a_merge_and_an_erasure(runtime):
    # Given a registered person who bought in the app at an org, and a window sale there to an email they had
    # not verified yet
    token = runtime.token()
    assert runtime.call("PUT", "/v1/me", token).status_code == 201
    org_id = f"org-{uuid.uuid4().hex[:8]}"
    bought = runtime.call(
        "POST",
        f"/v1/orgs/{org_id}/orders",
        token,
        json_body={"currency": "EUR", "payment_method": "card", "lines": LINES},
        headers={"Idempotency-Key": uuid.uuid4().hex},
    )
    assert bought.status_code == 201, bought.text
    email = f"merge-{uuid.uuid4().hex[:8]}@example.com"
    window = pos_sale(runtime, org_id, {"email": email, "given_name": "Mirela"})["profile"]["profile_id"]

    # When they verify that email (the window's profile merges into theirs) and the org then erases them
    subject = __import__("jwt").decode(token, options={"verify_signature": False})["sub"]
    verified = runtime.token(subject, email=email, email_verified=True)
    assert runtime.call("PUT", "/v1/me", verified).status_code == 200
    admin = runtime.token(org_id=org_id, roles=["admin"])

    def merged() -> str | None:  # one profile left at the org, and not the window's (the linker merges it)
        ids = [p["profile_id"] for p in runtime.call("GET", "/v1/me/profiles", verified).json()["profiles"]]
        return ids[0] if len(ids) == 1 and ids[0] != window else None

    survivor = runtime.wait_for(merged)
    runtime.wait_for(
        lambda: "merged_from" in {e["kind"] for e in trail(runtime, admin, org_id, survivor).json()["entries"]}
    )
    assert runtime.call("POST", f"/v1/orgs/{org_id}/profiles/{survivor}/erase", admin).status_code == 200

    # Then the surviving profile's trail tells the merge (from the window's profile) and the erasure, newest
    # first, and the window's profile's trail tells where it went
    entries = runtime.wait_for(
        lambda: (
            (found := trail(runtime, admin, org_id, survivor).json()["entries"])
            and found[0]["kind"] == "erased"
            and found
        )
    )
    merged_from = next(e for e in entries if e["kind"] == "merged_from")
    assert merged_from["other_profile_id"] == window
    assert entries[0]["actor"]["kind"] == "staff" and entries[0]["actor"]["role"] == "admin"
    gone = runtime.wait_for(
        lambda: next(
            (e for e in trail(runtime, admin, org_id, window).json()["entries"] if e["kind"] == "merged_into"), None
        )
    )
    assert gone["other_profile_id"] == survivor
    text = trail(runtime, admin, org_id, survivor).text
    assert email not in text and "Mirela" not in text


def test_a_consent_recorded_after_a_sale_follows_it_on_the_trail(runtime):
    # Given a window sale, then the customer's consent relayed by staff (said an hour before), then an edit:
    # DynamoDB Local's stream dates records by the minute, so only the items' own times can order these
    org_id = f"org-{uuid.uuid4().hex[:8]}"
    sale = pos_sale(runtime, org_id, {"email": f"consent-{uuid.uuid4().hex[:8]}@example.com"})
    profile_id = sale["profile"]["profile_id"]
    admin = runtime.token(org_id=org_id, roles=["admin"])
    said = (datetime.now(UTC) - timedelta(hours=1)).isoformat(timespec="milliseconds")
    consent = {"consents": [{"purpose": "marketing_email", "status": "granted", "stated_at": said}]}
    path = f"/v1/orgs/{org_id}/profiles/{profile_id}"
    assert runtime.call("PUT", f"{path}/consents", admin, json_body=consent).status_code == 200
    version = runtime.call("GET", path, admin).json()["profile"]["version"]
    edit = {"version": version, "attributes": {"locale": "pt-BR"}}
    assert runtime.call("PATCH", path, admin, json_body=edit).status_code == 200

    # When the trail settles
    expected = {"created", "order_placed", "consent_changed", "edited"}

    def settled():
        found = trail(runtime, admin, org_id, profile_id).json()["entries"]
        return found if {e["kind"] for e in found} >= expected else None

    entries = runtime.wait_for(settled)

    # Then newest first: the edit, the consent (dated when it was recorded, not when said), then the sale
    kinds = [e["kind"] for e in entries]
    assert kinds[:2] == ["edited", "consent_changed"], kinds
    assert sorted(kinds[2:]) == ["created", "order_placed"], kinds
    sold_at = max(e["at"] for e in entries[2:])
    assert entries[0]["at"] > entries[1]["at"] > sold_at > said
