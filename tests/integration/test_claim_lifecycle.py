"""The claim lifecycle over HTTP on the local runtime: staff resend and cancel, the partner's order.cancelled
and order.recipient_changed events, and a cancellation racing an acceptance (one wins, the other is told)."""

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.integration.test_claims_visible import accept, my_claims, notification_to, signed_up
from tests.integration.test_partners import deliver, order, register_partner

pytestmark = pytest.mark.integration


def notifications(runtime, email, notice="ClaimNotificationRequested"):
    return [
        e["detail"] for e in runtime.published() if e["detail-type"] == notice and e["detail"].get("email") == email
    ]


def reseller_order(runtime):
    """An org, its partner, and a claim for a fresh buyer: (org_id, partner_id, secret, email, order answer)."""
    org_id = f"org-{uuid.uuid4().hex[:8]}"
    partner_id, secret = register_partner(runtime, org_id)
    email = f"buyer-{uuid.uuid4().hex[:8]}@example.com"
    body = {**order(org_id, email), "external_order_id": f"ext-{uuid.uuid4().hex[:8]}"}
    delivered = deliver(runtime, partner_id, secret, body)
    assert delivered.status_code == 201, delivered.text
    return org_id, partner_id, secret, email, {**delivered.json(), "external_order_id": body["external_order_id"]}


def staff(runtime, org_id, role="pos"):
    return runtime.token(f"{role}-{uuid.uuid4().hex[:6]}", org_id=org_id, roles=[role])


def claim_route(org_id, claim_id, action):
    return f"/v1/orgs/{org_id}/claims/{claim_id}/{action}"


def entitlement_statuses(runtime, org_id, email):
    viewer = staff(runtime, org_id, "viewer")
    found = runtime.call("GET", f"/v1/orgs/{org_id}/profiles", viewer, params={"email": email}).json()["profiles"]
    statuses = []
    for profile in found:
        view = runtime.call("GET", f"/v1/orgs/{org_id}/profiles/{profile['profile_id']}", viewer, params={"limit": 100})
        statuses += [e["status"] for e in view.json()["entitlements"]]
    return sorted(statuses)


def test_staff_resend_and_cancel(runtime):
    # Given a reseller's order whose buyer was notified once
    org_id, _, _, email, placed = reseller_order(runtime)
    claim_id = placed["claim_id"]
    first = notification_to(runtime, email)
    seller = staff(runtime, org_id)

    # When staff send it again
    resent = runtime.call("POST", claim_route(org_id, claim_id, "resend"), seller)

    # Then a second notification with its own id and the same link is published, and a third at once is refused
    assert resent.status_code == 202, resent.text
    assert (resent.json()["status"], resent.json()["resends"]) == ("open", 1)
    again = runtime.wait_for(lambda: len(notifications(runtime, email)) == 2 and notifications(runtime, email))
    assert {n["notification_id"] for n in again} == {claim_id, f"{claim_id}#resend#1"}
    assert {n["claim_url"] for n in again} == {first["claim_url"]}
    too_soon = runtime.call("POST", claim_route(org_id, claim_id, "resend"), seller)
    assert too_soon.status_code == 429 and int(too_soon.headers["Retry-After"]) > 0
    assert too_soon.json()["error"]["code"] == "too_many_attempts"

    # and a viewer, another org's staff or a stranger can do neither
    other_org = f"org-{uuid.uuid4().hex[:8]}"
    for who, status in (
        (staff(runtime, org_id, "viewer"), 403),
        (staff(runtime, other_org, "admin"), 404),
        (signed_up(runtime), 404),
    ):
        assert runtime.call("POST", claim_route(org_id, claim_id, "cancel"), who).status_code == status
    assert (
        runtime.call("POST", claim_route(other_org, claim_id, "cancel"), staff(runtime, other_org, "admin")).status_code
        == 404
    )

    # When staff cancel it
    buyer = signed_up(runtime, email)
    assert [c["claim_id"] for c in my_claims(runtime, buyer)["claims"]] == [claim_id]
    cancelled = runtime.call("POST", claim_route(org_id, claim_id, "cancel"), seller)

    # Then the entitlements are void, the claim is gone from the buyer's list, its link and accept answer 410
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled" and len(cancelled.json()["voided"]) == 2
    assert entitlement_statuses(runtime, org_id, email) == ["void", "void"]
    assert my_claims(runtime, buyer)["claims"] == []
    link = first["claim_url"].rsplit("/", 1)[-1]
    assert runtime.call("POST", f"/v1/claims/{link}", buyer).status_code == 410
    assert accept(runtime, buyer, claim_id).status_code == 410
    # and cancelling again answers the same; sending it again is refused
    assert runtime.call("POST", claim_route(org_id, claim_id, "cancel"), seller).json()["status"] == "cancelled"
    assert runtime.call("POST", claim_route(org_id, claim_id, "resend"), seller).status_code == 409


def test_partner_cancels_and_readdresses_an_order(runtime):
    # Given two reseller orders
    org_id, partner_id, secret, email, placed = reseller_order(runtime)
    notification_to(runtime, email)

    # When the partner re-addresses the first to another buyer
    new_email = f"new-{uuid.uuid4().hex[:8]}@example.com"
    changed = deliver(
        runtime,
        partner_id,
        secret,
        {
            "type": "order.recipient_changed",
            "org_id": org_id,
            "external_order_id": placed["external_order_id"],
            "buyer": {"email": new_email},
        },
    )

    # Then a new claim is notified to the new buyer, who sees and accepts it; the old link and buyer get nothing
    assert changed.status_code == 200, changed.text
    new_claim = changed.json()["claim_id"]
    assert new_claim != placed["claim_id"] and changed.json()["claim_status"] == "open"
    notice = notification_to(runtime, new_email)
    assert notice["claim_id"] == new_claim
    old_buyer, new_buyer = signed_up(runtime, email), signed_up(runtime, new_email)
    assert my_claims(runtime, old_buyer)["claims"] == []
    assert [c["claim_id"] for c in my_claims(runtime, new_buyer)["claims"]] == [new_claim]
    old_link = notification_to(runtime, email)["claim_url"].rsplit("/", 1)[-1]
    assert runtime.call("POST", f"/v1/claims/{old_link}", old_buyer).status_code == 410
    taken = accept(runtime, new_buyer, new_claim)
    assert taken.status_code == 200 and {e["status"] for e in taken.json()["entitlements"]} == {"active"}

    # When the partner then cancels that order
    cancel = {"type": "order.cancelled", "org_id": org_id, "external_order_id": placed["external_order_id"]}
    late = deliver(runtime, partner_id, secret, cancel, webhook_id="msg_late_cancel_" + uuid.uuid4().hex)

    # Then the claimed entitlements are reported as not cancellable, and stay active
    assert late.status_code == 200, late.text
    assert late.json()["claim_status"] == "claimed" and late.json()["voided"] == []
    assert sorted(late.json()["not_cancellable"]) == sorted(e["entitlement_id"] for e in taken.json()["entitlements"])
    assert {
        e["status"] for e in runtime.call("POST", f"/v1/me/claims/{new_claim}/accept", new_buyer).json()["entitlements"]
    } == {"active"}

    # When the partner cancels a second order before anyone claims it (and redelivers the event)
    _, _, _, email2, placed2 = reseller_order_for(runtime, org_id, partner_id, secret)
    event = {"type": "order.cancelled", "org_id": org_id, "external_order_id": placed2["external_order_id"]}
    webhook_id = "msg_cancel_" + uuid.uuid4().hex
    first = deliver(runtime, partner_id, secret, event, webhook_id=webhook_id)
    replay = deliver(runtime, partner_id, secret, event, webhook_id=webhook_id)

    # Then its entitlements are void, once, and the redelivery answers the same
    assert first.status_code == replay.status_code == 200
    assert replay.json() == first.json() and len(first.json()["voided"]) == 2
    assert entitlement_statuses(runtime, org_id, email2) == ["void", "void"]
    # and an event about an order it never sent, or an unknown type, is refused
    unknown = {**event, "external_order_id": "never-sent"}
    assert deliver(runtime, partner_id, secret, unknown).status_code == 404
    bad = deliver(runtime, partner_id, secret, {**event, "type": "order.refunded"})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "type"


def reseller_order_for(runtime, org_id, partner_id, secret):
    email = f"buyer-{uuid.uuid4().hex[:8]}@example.com"
    body = {**order(org_id, email), "external_order_id": f"ext-{uuid.uuid4().hex[:8]}"}
    delivered = deliver(runtime, partner_id, secret, body)
    assert delivered.status_code == 201, delivered.text
    return org_id, partner_id, secret, email, {**delivered.json(), "external_order_id": body["external_order_id"]}


@pytest.mark.parametrize("attempt", range(3))
def test_a_cancellation_racing_an_acceptance_has_one_winner(runtime, attempt):
    # Given an open claim, its buyer signed up, and staff
    org_id, _, _, email, placed = reseller_order(runtime)
    claim_id = placed["claim_id"]
    buyer, seller = signed_up(runtime, email), staff(runtime, org_id, "admin")

    # When the buyer accepts while staff cancel
    with ThreadPoolExecutor(2) as pool:
        accepting = pool.submit(accept, runtime, buyer, claim_id)
        cancelling = pool.submit(runtime.call, "POST", claim_route(org_id, claim_id, "cancel"), seller)
        accepted, cancelled = accepting.result(), cancelling.result()

    # Then exactly one wins, the other is told clearly, and the entitlements show the winner's outcome
    outcomes = (accepted.status_code, cancelled.status_code)
    assert outcomes in ((200, 409), (410, 200)), (accepted.text, cancelled.text)
    if outcomes == (200, 409):
        assert cancelled.json()["error"]["code"] == "conflict"
        assert entitlement_statuses(runtime, org_id, email) == ["active", "active"]
    else:
        assert "cancelled" in accepted.json()["error"]["message"]
        assert entitlement_statuses(runtime, org_id, email) == ["void", "void"]
