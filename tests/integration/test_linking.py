"""Activation and linking end to end on the local runtime: HTTP in, the stream poller, the linker."""

import json
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from customer_profiles.data.codec import pending_to_item
from customer_profiles.models.domain import PendingEffect
from scripts.operator import main as operator

pytestmark = pytest.mark.integration

LINES = [{"kind": "ticket", "item_id": "ev-live", "quantity": 2, "unit_price": 4000}]


def pos_sale(runtime, org_id, customer):
    seller = runtime.token(f"till-{org_id}", org_id=org_id, roles=["pos"], client_id="local-staff-console")
    response = runtime.call(
        "POST",
        f"/v1/orgs/{org_id}/pos/sales",
        seller,
        json_body={"currency": "EUR", "payment_method": "cash", "lines": LINES, "customer": customer},
        headers={"Idempotency-Key": uuid.uuid4().hex},
    )
    assert response.status_code == 201, response.text
    return response.json()


def history_entitlements(runtime, token):
    entries = runtime.call("GET", "/v1/me/history", token, params={"limit": 100}).json()["entries"]
    return {e["entitlement"]["entitlement_id"] for e in entries if e["type"] == "entitlement"}


def test_a_window_sale_then_a_sign_up_ends_in_the_users_history(runtime):
    # Given a sale at the window with the customer's email
    email = f"walkin-{uuid.uuid4().hex[:8]}@example.com"
    sale = pos_sale(runtime, f"org-{uuid.uuid4().hex[:6]}", {"email": email, "given_name": "Wen"})

    # When the person signs up with that email verified
    token = runtime.token(email=email, email_verified=True)
    assert runtime.call("PUT", "/v1/me", token).status_code == 201

    # Then the sale is in their history, and ProfilesLinked reaches the event sink through the stream
    assert history_entitlements(runtime, token) == {e["entitlement_id"] for e in sale["entitlements"]}
    runtime.wait_for(
        lambda: any(
            e["detail-type"] == "ProfilesLinked"
            and e["detail"].get("activated")
            and e["detail"]["profiles"][0]["profile_id"] == sale["profile"]["profile_id"]
            for e in runtime.published()
        )
    )


def test_a_registered_person_verifying_an_email_gets_the_window_sales_through_the_linker(runtime):
    # Given a registered person who bought at org A in the app
    token = runtime.token()
    runtime.call("PUT", "/v1/me", token)
    org_a, org_b = f"org-{uuid.uuid4().hex[:6]}", f"org-{uuid.uuid4().hex[:6]}"
    app_order = runtime.call(
        "POST",
        f"/v1/orgs/{org_a}/orders",
        token,
        json_body={"currency": "EUR", "payment_method": "card", "lines": LINES},
        headers={"Idempotency-Key": "a1"},
    ).json()
    # and window sales at org A and org B under an email they had not verified
    email = f"later-{uuid.uuid4().hex[:8]}@example.com"
    sales = [pos_sale(runtime, org, {"email": email}) for org in (org_a, org_b)]

    # When they sign in with that email now verified
    subject = __import__("jwt").decode(token, options={"verify_signature": False})["sub"]
    verified = runtime.token(subject, email=email, email_verified=True)
    assert runtime.call("PUT", "/v1/me", verified).status_code == 200

    # Then, with no further call, the linker brings every sale into their history, one profile per org
    expected = {e["entitlement_id"] for s in [app_order, *sales] for e in s["entitlements"]}
    runtime.wait_for(lambda: history_entitlements(runtime, verified) == expected)
    profiles = runtime.call("GET", "/v1/me/profiles", verified).json()["profiles"]
    assert sorted(p["org_id"] for p in profiles) == sorted([org_a, org_b])
    staff = runtime.token("viewer", org_id=org_a, roles=["viewer"], client_id="local-staff-console")
    merged_away = runtime.call("GET", f"/v1/orgs/{org_a}/profiles/{sales[0]['profile']['profile_id']}", staff)
    assert merged_away.json()["entitlements"] == []  # moved to the surviving profile, none lost


def test_concurrent_activations_of_one_dormant_user_have_one_outcome(runtime):
    email = f"contested-{uuid.uuid4().hex[:8]}@example.com"
    pos_sale(runtime, f"org-{uuid.uuid4().hex[:6]}", {"email": email})
    tokens = [runtime.token(email=email, email_verified=True) for _ in range(6)]

    with ThreadPoolExecutor(max_workers=6) as pool:
        responses = list(pool.map(lambda t: runtime.call("PUT", "/v1/me", t), tokens))

    assert all(r.status_code == 201 for r in responses)
    holders = [r.json()["user_id"] for r in responses if r.json()["email"] == email]
    assert len(holders) == 1  # one person got the dormant account; the others got accounts of their own
    item = runtime.table().get_item(Key={"pk": f"IDENT#email#{email}", "sk": "IDENT"})["Item"]
    assert item["user_id"] == holders[0]


def test_a_poison_record_is_retried_then_parked_then_re_driven_with_nothing_lost(runtime):
    # Given a dormant user with a sale, and a link task towards a user that is not active yet
    email = f"poison-{uuid.uuid4().hex[:8]}@example.com"
    sale = pos_sale(runtime, f"org-{uuid.uuid4().hex[:6]}", {"email": email})
    table = runtime.table()
    dormant_id = table.get_item(Key={"pk": f"IDENT#email#{email}", "sk": "IDENT"})["Item"]["user_id"]
    target_id = f"late-{uuid.uuid4().hex[:8]}"
    failures = runtime.state_dir / "linker-failures.jsonl"
    before = failures.read_text().count("\n") if failures.exists() else 0
    link = PendingEffect(
        kind="link_user",
        effect_id=dormant_id,
        cause={"from_user_id": dormant_id, "to_user_id": target_id},
        created_at="2026-01-01T00:00:00.000Z",
    )
    person = {
        "pk": f"USER#{target_id}",
        "sk": "USER",
        "type": "user",
        "user_id": target_id,
        "status": "dormant",
        "created_at": "2026-01-01T00:00:00Z",
        "updated_at": "2026-01-01T00:00:00Z",
        "version": 1,
    }
    table.put_item(Item=person)
    table.put_item(Item=pending_to_item(link))

    # When the linker keeps failing on it, the poller gives up after the retry limit and parks the batch
    runtime.wait_for(lambda: failures.exists() and failures.read_text().count("\n") > before, timeout=60)
    parked = json.loads(failures.read_text().splitlines()[-1])
    assert parked["requestContext"]["condition"] == "RetryAttemptsExhausted"

    # Then, once the cause is fixed, the documented re-drive links everything, and nothing is lost
    table.put_item(Item={**person, "status": "active", "version": 2})
    redrive = ["--endpoint", runtime.dynamodb_endpoint, "redrive", "--state-dir", str(runtime.state_dir)]
    assert operator(redrive) == 0
    profile = table.get_item(
        Key={"pk": f"ORG#{sale['profile']['org_id']}#PROFILE#{sale['profile']['profile_id']}", "sk": "PROFILE"}
    )["Item"]
    assert profile["user_id"] == target_id
    assert failures.read_text() == ""
    assert "Item" not in table.get_item(Key={"pk": f"PENDING#link_user#{dormant_id}", "sk": "PENDING"})
