"""Exact unmerge over HTTP on the local runtime (issue 29): a mistaken same-org merge undone by an admin, and an
unmerge racing a sale and a claim at the survivor (they stay with it)."""

import uuid

import pytest

from tests.integration.test_claims_visible import accept, my_claims
from tests.integration.test_identity import org, unique_email, unique_phone
from tests.integration.test_linking import pos_sale
from tests.integration.test_partners import deliver, order, register_partner
from tests.integration.test_proof_per_sale import orders_seen, sign_up

pytestmark = pytest.mark.integration


def admin_of(runtime, org_id):
    return runtime.token(f"admin-{uuid.uuid4().hex[:6]}", org_id=org_id, roles=["admin"])


def staff_view(runtime, admin, org_id, profile_id):
    view = runtime.call("GET", f"/v1/orgs/{org_id}/profiles/{profile_id}", admin, params={"limit": 100})
    assert view.status_code == 200, view.text
    return view.json()


def found_by(runtime, admin, org_id, **search):
    found = runtime.call("GET", f"/v1/orgs/{org_id}/profiles", admin, params=search)
    assert found.status_code == 200, found.text
    return {p["profile_id"] for p in found.json()["profiles"]}


def unmerged(runtime, profile_id):
    return next(
        (
            e["detail"]
            for e in runtime.published()
            if e["detail-type"] == "ProfilesUnmerged" and e["detail"]["profile_id"] == profile_id
        ),
        None,
    )


def mistaken_merge(runtime):
    """A person's own window sale (their verified email) makes their profile T; staff type a wrong email and a
    phone for someone else's sale (profile S, a dormant holder); the person then verifies that email too, so
    the link merges S into T."""
    venue, mine, typo, phone = org(), unique_email("me"), unique_email("typo"), unique_phone()
    sub = f"me-{uuid.uuid4().hex[:8]}"
    me = sign_up(runtime, sub, email=mine, email_verified=True)
    own = pos_sale(runtime, venue, {"email": mine})
    theirs = pos_sale(runtime, venue, {"email": typo, "phone": phone})
    t_id, s_id = own["profile"]["profile_id"], theirs["profile"]["profile_id"]
    assert t_id != s_id
    before = orders_seen(runtime, me)
    assert before == {own["order"]["order_id"]}
    me = sign_up(runtime, sub, email=typo, email_verified=True)
    runtime.wait_for(lambda: orders_seen(runtime, me) == before | {theirs["order"]["order_id"]}, timeout=30)
    admin = admin_of(runtime, venue)
    runtime.wait_for(lambda: found_by(runtime, admin, venue, email=typo) == {t_id}, timeout=30)
    return venue, me, admin, (t_id, own), (s_id, theirs), (typo, phone)


def test_a_mistaken_same_org_merge_undone(runtime):
    venue, me, admin, (t_id, own), (s_id, theirs), (typo, phone) = mistaken_merge(runtime)

    asked = runtime.call("POST", f"/v1/orgs/{venue}/profiles/{s_id}/unmerge", admin)
    assert asked.status_code == 202, asked.text
    assert asked.json()["merged_into"] == t_id and asked.json()["unmerging_at"]
    again = runtime.call("POST", f"/v1/orgs/{venue}/profiles/{s_id}/unmerge", admin)
    assert again.status_code in (202, 409), again.text  # pending: the same answer; done already: not merged

    detail = runtime.wait_for(lambda: unmerged(runtime, s_id), timeout=30)
    assert detail["survivor_profile_id"] == t_id and detail["orders"] == 1
    # The person's history is theirs alone again; the org finds each profile by its own identifiers
    runtime.wait_for(lambda: orders_seen(runtime, me) == {own["order"]["order_id"]}, timeout=30)
    assert {o["order_id"] for o in staff_view(runtime, admin, venue, s_id)["orders"]} == {theirs["order"]["order_id"]}
    assert {o["order_id"] for o in staff_view(runtime, admin, venue, t_id)["orders"]} == {own["order"]["order_id"]}
    assert found_by(runtime, admin, venue, email=typo) == {s_id}
    assert found_by(runtime, admin, venue, phone=phone) == {s_id}
    # It is not merged any more; another org's admin finds no such profile
    done = runtime.call("POST", f"/v1/orgs/{venue}/profiles/{s_id}/unmerge", admin)
    assert (done.status_code, done.json()["error"]["code"]) == (409, "not_merged")
    elsewhere = org()
    stranger = runtime.call("POST", f"/v1/orgs/{elsewhere}/profiles/{s_id}/unmerge", admin_of(runtime, elsewhere))
    assert stranger.status_code == 404


def test_an_unmerge_racing_a_sale_and_a_claim(runtime):
    venue, me, admin, (t_id, own), (s_id, theirs), _ = mistaken_merge(runtime)
    partner_id, secret = register_partner(runtime, venue)
    mine = runtime.call("GET", "/v1/me", me).json()["email"]
    delivered = deliver(runtime, partner_id, secret, order(venue, mine))
    assert delivered.status_code == 201, delivered.text
    claim = runtime.wait_for(lambda: my_claims(runtime, me)["claims"], timeout=30)[0]

    # The unmerge is asked for; meanwhile the person buys at the window and accepts the reseller's claim
    asked = runtime.call("POST", f"/v1/orgs/{venue}/profiles/{s_id}/unmerge", admin)
    assert asked.status_code == 202, asked.text
    sold = pos_sale(runtime, venue, {"email": mine})
    accepted = runtime.wait_for(lambda: (r := accept(runtime, me, claim["claim_id"])).status_code == 200 and r)
    assert {e["status"] for e in accepted.json()["entitlements"]} == {"active"}

    # Both stay with the person's profile; only the merged-in profile's own sale goes back
    runtime.wait_for(lambda: unmerged(runtime, s_id), timeout=30)
    stays = {own["order"]["order_id"], sold["order"]["order_id"], delivered.json()["order_id"]}
    runtime.wait_for(lambda: orders_seen(runtime, me) == stays, timeout=30)
    assert sold["profile"]["profile_id"] == t_id and accepted.json()["profile_id"] == t_id
    assert {o["order_id"] for o in staff_view(runtime, admin, venue, t_id)["orders"]} == stays
    assert {o["order_id"] for o in staff_view(runtime, admin, venue, s_id)["orders"]} == {theirs["order"]["order_id"]}
