"""Linking that never loses a purchase, over HTTP on the local runtime (DynamoDB Local's stream shapes
included): the numbered scenarios of the linking issue, each end to end."""

import uuid

import pytest

from tests.integration.test_linking import history_entitlements, pos_sale
from tests.integration.test_partners import deliver, order, register_partner

pytestmark = pytest.mark.integration


def org():
    return f"org-{uuid.uuid4().hex[:6]}"


def notification_for(runtime, email):
    return runtime.wait_for(
        lambda: next(
            (
                e
                for e in runtime.published()
                if e["detail-type"] == "ClaimNotificationRequested" and e["detail"]["email"] == email
            ),
            None,
        )
    )


def test_an_orphan_given_an_email_by_staff_reaches_the_persons_history_and_one_activation_announces_once(runtime):
    # Given an anonymous cash sale, and staff attaching the customer's email to its orphaned profile
    venue, email = org(), f"orphan-{uuid.uuid4().hex[:8]}@example.com"
    sale = pos_sale(runtime, venue, {})
    admin = runtime.token(org_id=venue, roles=["admin"])
    attached = runtime.call(
        "POST",
        f"/v1/orgs/{venue}/profiles/{sale['profile']['profile_id']}/identifiers",
        admin,
        json_body={"version": 1, "email": email},
    )
    assert attached.status_code == 200, attached.text

    # When the person signs up with that email
    token = runtime.token(email=email, email_verified=True)
    user_id = runtime.call("PUT", "/v1/me", token).json()["user_id"]

    # Then the sale's orders and entitlements are in their history, and the activation is announced once
    runtime.wait_for(
        lambda: history_entitlements(runtime, token) == {e["entitlement_id"] for e in sale["entitlements"]}
    )
    runtime.wait_for(lambda: any(e["detail"].get("user_id") == user_id for e in runtime.published()))
    announced = [
        e for e in runtime.published() if e["detail-type"] == "ProfilesLinked" and e["detail"].get("user_id") == user_id
    ]
    assert len(announced) == 1


def test_a_reseller_claim_still_works_after_the_buyers_profile_was_merged(runtime):
    # Given a registered person with a profile at the venue, and a reseller order to another email of theirs
    venue, email, sub = org(), f"resale-{uuid.uuid4().hex[:8]}@example.com", f"user-{uuid.uuid4().hex[:8]}"
    partner_id, secret = register_partner(runtime, venue)
    token = runtime.token(sub)
    runtime.call("PUT", "/v1/me", token)
    line = order(venue, email)["lines"][0]
    bought = runtime.call(
        "POST",
        f"/v1/orgs/{venue}/orders",
        token,
        json_body={"currency": "EUR", "payment_method": "card", "lines": [line]},
        headers={"Idempotency-Key": uuid.uuid4().hex},
    )
    assert bought.status_code == 201
    mine = bought.json()["order"]["profile_id"]
    assert deliver(runtime, partner_id, secret, order(venue, email)).status_code == 201
    claim_token = notification_for(runtime, email)["detail"]["claim_url"].rsplit("/", 1)[-1]

    # When they verify that email (the buyer's dormant profile merges into theirs) and then claim
    token = runtime.token(sub, email=email, email_verified=True)
    runtime.call("PUT", "/v1/me", token)
    runtime.wait_for(lambda: len(history_entitlements(runtime, token)) == 4)  # 2 bought + 2 pending claim
    claimed = runtime.call("POST", f"/v1/claims/{claim_token}", token)

    # Then the claim works on the surviving profile, and every entitlement is theirs and active
    assert claimed.status_code == 200, claimed.text
    assert claimed.json()["profile_id"] == mine
    assert {e["status"] for e in claimed.json()["entitlements"]} == {"active"}


def test_voiding_one_entitlement_leaves_the_rest_of_its_claim_claimable(runtime):
    venue, email = org(), f"void-{uuid.uuid4().hex[:8]}@example.com"
    partner_id, secret = register_partner(runtime, venue)
    assert deliver(runtime, partner_id, secret, order(venue, email)).status_code == 201
    claim_token = notification_for(runtime, email)["detail"]["claim_url"].rsplit("/", 1)[-1]
    admin = runtime.token(org_id=venue, roles=["admin"])
    listed = runtime.call("GET", f"/v1/orgs/{venue}/profiles", admin, params={"email": email}).json()["profiles"]
    profile_id = listed[0]["profile_id"]
    detail = runtime.call("GET", f"/v1/orgs/{venue}/profiles/{profile_id}", admin).json()
    voided, kept = (e["entitlement_id"] for e in detail["entitlements"])
    assert (
        runtime.call("POST", f"/v1/orgs/{venue}/profiles/{profile_id}/entitlements/{voided}/void", admin).status_code
        == 200
    )

    friend = runtime.token()
    runtime.call("PUT", "/v1/me", friend)
    claimed = runtime.call("POST", f"/v1/claims/{claim_token}", friend)

    assert claimed.status_code == 200, claimed.text
    assert [e["entitlement_id"] for e in claimed.json()["entitlements"]] == [kept]


def test_a_sale_to_a_dormant_user_merged_meanwhile_lands_with_the_person(runtime):
    # Given two dormant users (email at org A, phone at org B) and a person verifying both
    email, phone = f"both-{uuid.uuid4().hex[:8]}@example.com", f"+4479111{uuid.uuid4().int % 100000:05d}"
    pos_sale(runtime, org(), {"email": email})
    pos_sale(runtime, org(), {"phone": phone})
    token = runtime.token(email=email, email_verified=True, phone_number=phone, phone_number_verified=True)
    runtime.call("PUT", "/v1/me", token)

    # When a later sale is typed with the merged user's phone, at a third org
    later = pos_sale(runtime, org(), {"phone": phone})

    # Then it is the person's, with everything else
    later_ids = {e["entitlement_id"] for e in later["entitlements"]}
    runtime.wait_for(lambda: later_ids <= history_entitlements(runtime, token))
    runtime.wait_for(lambda: len(history_entitlements(runtime, token)) == 6)  # the linker moves the other
