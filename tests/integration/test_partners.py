"""Reseller webhooks end to end on the local runtime: signed delivery, outbox notification, claim, history."""

import contextlib
import io
import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
import requests
from standardwebhooks import Webhook

from scripts.operator import main as operator

pytestmark = pytest.mark.integration


def register_partner(runtime, org_id, *extra, partner_id=None):
    """The operator command, as an operator runs it; returns (partner id, the printed secret)."""
    partner_id = partner_id or f"partner-{uuid.uuid4().hex[:6]}"
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = operator(
            [
                "--endpoint",
                runtime.dynamodb_endpoint,
                "register-partner",
                "--partner-id",
                partner_id,
                "--name",
                "Resale Co",
                "--org-id",
                org_id,
                "--secrets-file",
                str(runtime.state_dir / "partner-secrets.json"),
                *extra,
            ]
        )
    assert code == 0
    return partner_id, out.getvalue().strip().splitlines()[-1]


def deliver(runtime, partner_id, secret, body, webhook_id=None):
    webhook_id = webhook_id or f"msg_{uuid.uuid4().hex}"
    now = datetime.now(UTC)
    raw = json.dumps(body)
    headers = {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign(webhook_id, now, raw),
        "Content-Type": "application/json",
    }
    return requests.post(f"{runtime.base_url}/v1/partners/{partner_id}/orders", data=raw, headers=headers, timeout=30)


def order(org_id, email):
    return {
        "org_id": org_id,
        "currency": "EUR",
        "buyer": {"email": email, "given_name": "Bo"},
        "lines": [{"kind": "ticket", "item_id": "ev-final", "quantity": 2, "unit_price": 9900}],
    }


def test_webhook_to_notification_to_claim_to_history(runtime):
    # Given a partner registered by the operator command, selling for an org
    org_id = f"org-{uuid.uuid4().hex[:6]}"
    partner_id, secret = register_partner(runtime, org_id)
    email = f"buyer-{uuid.uuid4().hex[:6]}@example.com"

    # When it posts a signed order
    accepted = deliver(runtime, partner_id, secret, order(org_id, email))

    # Then the order is accepted and the notification with the claim link reaches the sink through the stream
    assert accepted.status_code == 201, accepted.text
    notification = runtime.wait_for(
        lambda: next(
            (
                e
                for e in runtime.published()
                if e["detail-type"] == "ClaimNotificationRequested" and e["detail"]["email"] == email
            ),
            None,
        )
    )
    token = notification["detail"]["claim_url"].rsplit("/", 1)[-1]

    # And the buyer (a friend they forwarded it to, here) claims it with their own account
    friend = runtime.token(email=f"friend-{uuid.uuid4().hex[:6]}@example.com", email_verified=True)
    runtime.call("PUT", "/v1/me", friend)
    claimed = runtime.call("POST", f"/v1/claims/{token}", friend)
    assert claimed.status_code == 200, claimed.text
    assert {e["status"] for e in claimed.json()["entitlements"]} == {"active"}
    entries = runtime.call("GET", "/v1/me/history", friend).json()["entries"]
    assert {e["entitlement"]["entitlement_id"] for e in entries if e["entitlement"]} == {
        e["entitlement_id"] for e in claimed.json()["entitlements"]
    }
    # the friend's retry answers the first answer; anyone else's use is gone; an unknown token is not found
    retried = runtime.call("POST", f"/v1/claims/{token}", friend)
    assert (retried.status_code, retried.json()) == (200, claimed.json())
    stranger = runtime.token(email=f"s-{uuid.uuid4().hex[:6]}@example.com", email_verified=True)
    runtime.call("PUT", "/v1/me", stranger)
    assert runtime.call("POST", f"/v1/claims/{token}", stranger).status_code == 410
    assert runtime.call("POST", f"/v1/claims/{'x' * 43}", friend).status_code == 404


def test_concurrent_redeliveries_create_one_order(runtime):
    org_id = f"org-{uuid.uuid4().hex[:6]}"
    partner_id, secret = register_partner(runtime, org_id)
    body = order(org_id, f"dup-{uuid.uuid4().hex[:6]}@example.com")
    webhook_id = f"msg_{uuid.uuid4().hex}"

    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(lambda _: deliver(runtime, partner_id, secret, body, webhook_id), range(8)))

    assert {r.status_code for r in responses} <= {200, 201} and [r.status_code for r in responses].count(201) == 1
    assert len({r.json()["order_id"] for r in responses}) == 1
    changed = deliver(runtime, partner_id, secret, {**body, "currency": "USD"}, webhook_id)
    assert changed.status_code == 409


def test_signature_rotation_and_refusals_over_http(runtime):
    org_id = f"org-{uuid.uuid4().hex[:6]}"
    partner_id, old_secret = register_partner(runtime, org_id)
    _, new_secret = register_partner(runtime, org_id, "--rotate", partner_id=partner_id)
    body = order(org_id, f"rot-{uuid.uuid4().hex[:6]}@example.com")

    assert deliver(runtime, partner_id, old_secret, body).status_code == 201
    assert deliver(runtime, partner_id, new_secret, body).status_code == 201
    forged = deliver(runtime, partner_id, "whsec_" + "A" * 43, body)
    assert (forged.status_code, forged.json()["error"]["code"]) == (401, "invalid_signature")
    assert deliver(runtime, partner_id, new_secret, order("org-not-allowed", "x@example.com")).status_code == 403
    assert deliver(runtime, partner_id, new_secret, {"org_id": org_id}).status_code == 422
    unsigned = requests.post(f"{runtime.base_url}/v1/partners/{partner_id}/orders", json=body, timeout=30)
    assert unsigned.status_code == 401


def test_a_claim_after_activation_lands_on_the_activated_account(runtime):
    org_id = f"org-{uuid.uuid4().hex[:6]}"
    partner_id, secret = register_partner(runtime, org_id)
    email = f"act-{uuid.uuid4().hex[:6]}@example.com"
    assert deliver(runtime, partner_id, secret, order(org_id, email)).status_code == 201
    buyer = runtime.token(email=email, email_verified=True)
    me = runtime.call("PUT", "/v1/me", buyer).json()  # activates the dormant buyer
    notification = runtime.wait_for(
        lambda: next(
            (
                e
                for e in runtime.published()
                if e["detail-type"] == "ClaimNotificationRequested" and e["detail"]["email"] == email
            ),
            None,
        )
    )

    claimed = runtime.call("POST", f"/v1/claims/{notification['detail']['claim_url'].rsplit('/', 1)[-1]}", buyer)

    assert claimed.status_code == 200
    profiles = runtime.call("GET", "/v1/me/profiles", buyer).json()["profiles"]
    assert [p["profile_id"] for p in profiles] == [claimed.json()["profile_id"]]
    assert me["status"] == "active"
