"""Claims a buyer sees and accepts without the link, retried claims, and a partner order exactly once by its
external_order_id, over HTTP on the local runtime (DynamoDB Local, the stream and the linker running)."""

import base64
import json
import uuid

import pytest

from tests.integration.test_partners import deliver, order, register_partner

pytestmark = pytest.mark.integration


def notification_to(runtime, email):
    """The buyer's claim notification, once the linker has published it."""
    return runtime.wait_for(
        lambda: next(
            (
                e
                for e in runtime.published()
                if e["detail-type"] == "ClaimNotificationRequested" and e["detail"].get("email") == email
            ),
            None,
        )
    )["detail"]


def claim_link_token(runtime, email):
    """The token at the end of the claim link the buyer's notification carries."""
    return notification_to(runtime, email)["claim_url"].rsplit("/", 1)[-1]


def signed_up(runtime, email=None, *, verified=True, sub=None, phone=None):
    email = email or f"p-{uuid.uuid4().hex[:8]}@example.com"
    token = runtime.token(
        sub, email=email, email_verified=verified, phone_number=phone, phone_number_verified=bool(phone)
    )
    assert runtime.call("PUT", "/v1/me", token).status_code in (200, 201)
    return token


def my_claims(runtime, token, **params):
    response = runtime.call("GET", "/v1/me/claims", token, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def accept(runtime, token, claim_id):
    return runtime.call("POST", f"/v1/me/claims/{claim_id}/accept", token)


def active_entitlements_in_history(runtime, token, org_id):
    entries = runtime.call("GET", "/v1/me/history", token, params={"org_id": org_id, "limit": 100}).json()["entries"]
    return {
        e["entitlement"]["entitlement_id"]
        for e in entries
        if e["type"] == "entitlement" and e["entitlement"]["status"] == "active"
    }


def staff_view_of_buyer(runtime, org_id, email):
    """What the org's staff see of the buyer: their profiles there, and each one's orders."""
    viewer = runtime.token(f"viewer-{uuid.uuid4().hex[:6]}", org_id=org_id, roles=["viewer"])
    found = runtime.call("GET", f"/v1/orgs/{org_id}/profiles", viewer, params={"email": email})
    assert found.status_code == 200, found.text
    views = []
    for profile in found.json()["profiles"]:
        view = runtime.call("GET", f"/v1/orgs/{org_id}/profiles/{profile['profile_id']}", viewer, params={"limit": 100})
        assert view.status_code == 200, view.text
        views.append(view.json())
    return views


def test_the_buyer_who_verified_the_email_sees_and_accepts_the_claim_and_nobody_else_can(runtime):
    # Given a reseller's order for an email, and three people: the buyer who verified that email, someone who
    # typed it without proving it, and someone else
    org_id = f"org-{uuid.uuid4().hex[:8]}"
    partner_id, secret = register_partner(runtime, org_id)
    email = f"buyer-{uuid.uuid4().hex[:8]}@example.com"
    delivered = deliver(runtime, partner_id, secret, order(org_id, email))
    assert delivered.status_code == 201, delivered.text
    link_token = claim_link_token(runtime, email)
    buyer = signed_up(runtime, email)
    unproved = signed_up(runtime, email, verified=False)
    other = signed_up(runtime)

    # When each lists their claims
    listed = my_claims(runtime, buyer)

    # Then only the buyer sees it: the order, its two entitlements, addressed to their email, never the link
    (claim,) = listed["claims"]
    assert listed["next_cursor"] is None
    assert claim["order_id"] == delivered.json()["order_id"] and claim["org_id"] == org_id
    assert (claim["partner_id"], claim["entitlements"], claim["addressed_to"]) == (partner_id, 2, ["email"])
    assert claim["status"] == "open" and claim["expires_at"] == delivered.json()["claim_expires_at"]
    assert link_token not in json.dumps(listed) and "token" not in claim
    assert my_claims(runtime, unproved)["claims"] == []
    assert my_claims(runtime, other)["claims"] == []
    # and nobody else can accept it by its id: it answers as a claim that does not exist
    for stranger in (unproved, other):
        refused = accept(runtime, stranger, claim["claim_id"])
        assert (refused.status_code, refused.json()["error"]["code"]) == (404, "not_found")

    assert active_entitlements_in_history(runtime, buyer, org_id) == set()

    # When the buyer accepts it from the list
    accepted = accept(runtime, buyer, claim["claim_id"])

    # Then its entitlements are active under the buyer's profile in the org, in their history, and it is no
    # longer listed
    assert accepted.status_code == 200, accepted.text
    entitlement_ids = {e["entitlement_id"] for e in accepted.json()["entitlements"]}
    assert len(entitlement_ids) == 2 and {e["status"] for e in accepted.json()["entitlements"]} == {"active"}
    mine = runtime.call("GET", f"/v1/orgs/{org_id}/profile", buyer)
    assert mine.status_code == 200 and mine.json()["profile_id"] == accepted.json()["profile_id"]
    runtime.wait_for(lambda: active_entitlements_in_history(runtime, buyer, org_id) == entitlement_ids)
    assert my_claims(runtime, buyer)["claims"] == []
    # nothing became anyone else's
    assert runtime.call("GET", "/v1/me/history", other, params={"org_id": org_id}).json()["entries"] == []

    # And a retry by the buyer, through the list or the link, answers the first answer; anyone else gets 410
    # (a claimed claim keeps no contact details to tell whom it was addressed to)
    assert accept(runtime, buyer, claim["claim_id"]).json() == accepted.json()
    assert accept(runtime, other, claim["claim_id"]).status_code == 410
    by_link = runtime.call("POST", f"/v1/claims/{link_token}", buyer)
    assert (by_link.status_code, by_link.json()) == (200, accepted.json())
    gone = runtime.call("POST", f"/v1/claims/{link_token}", other)
    assert (gone.status_code, gone.json()["error"]["code"]) == (410, "gone")


def test_a_claim_link_retried_by_its_claimer_answers_the_first_answer_and_is_410_for_anyone_else(runtime):
    # Given a reseller's order whose link the buyer forwarded to a friend, who claimed it
    org_id = f"org-{uuid.uuid4().hex[:8]}"
    partner_id, secret = register_partner(runtime, org_id)
    email = f"fwd-{uuid.uuid4().hex[:8]}@example.com"
    assert deliver(runtime, partner_id, secret, order(org_id, email)).status_code == 201
    link_token = claim_link_token(runtime, email)
    friend = signed_up(runtime)
    first = runtime.call("POST", f"/v1/claims/{link_token}", friend)
    assert first.status_code == 200, first.text

    # When the friend retries (a lost answer), and then the buyer tries the link and the list
    again = runtime.call("POST", f"/v1/claims/{link_token}", friend)
    buyer = signed_up(runtime, email)
    too_late = runtime.call("POST", f"/v1/claims/{link_token}", buyer)
    too_late_by_id = accept(runtime, buyer, notification_to(runtime, email)["claim_id"])

    # Then the friend gets the first answer again, the buyer a 410, and the claim is no longer listed
    assert (again.status_code, again.json()) == (200, first.json())
    assert (too_late.status_code, too_late.json()["error"]["code"]) == (410, "gone")
    assert (too_late_by_id.status_code, too_late_by_id.json()["error"]["code"]) == (410, "gone")
    assert my_claims(runtime, buyer)["claims"] == []
    entitlement_ids = {e["entitlement_id"] for e in first.json()["entitlements"]}
    runtime.wait_for(lambda: active_entitlements_in_history(runtime, friend, org_id) == entitlement_ids)


def test_the_same_external_order_id_under_a_new_webhook_id_is_one_order_answered_the_same(runtime):
    # Given a partner's order recorded once
    org_id = f"org-{uuid.uuid4().hex[:8]}"
    partner_id, secret = register_partner(runtime, org_id)
    email = f"dup-{uuid.uuid4().hex[:8]}@example.com"
    body = {**order(org_id, email), "external_order_id": f"rc-{uuid.uuid4().hex[:8]}"}
    first = deliver(runtime, partner_id, secret, body)
    assert first.status_code == 201, first.text

    # When the partner sends it again under a new webhook-id (its keys reordered), then another order under
    # the same external_order_id
    again = deliver(runtime, partner_id, secret, dict(reversed(body.items())))
    changed = deliver(runtime, partner_id, secret, {**body, "currency": "USD"})

    # Then the second is the first answer and records nothing; the third is a 409 on external_order_id
    assert (again.status_code, again.json()) == (200, first.json())
    assert changed.status_code == 409 and changed.headers["Content-Type"].startswith("application/json")
    assert changed.json()["error"]["code"] == "conflict" and changed.json()["error"]["field"] == "external_order_id"
    (view,) = staff_view_of_buyer(runtime, org_id, email)
    assert [o["order_id"] for o in view["orders"]] == [first.json()["order_id"]]
    assert len(view["entitlements"]) == 2
    buyer = signed_up(runtime, email)
    assert [c["order_id"] for c in my_claims(runtime, buyer)["claims"]] == [first.json()["order_id"]]
    runtime.wait_for(lambda: claim_link_token(runtime, email))
    notified = [
        e
        for e in runtime.published()
        if e["detail-type"] == "ClaimNotificationRequested" and e["detail"].get("email") == email
    ]
    assert len(notified) == 1


def test_my_claims_page_by_page_lists_each_open_claim_once_newest_first(runtime):
    # Given four reseller orders to a buyer who verified both their email and phone: to the email, to both,
    # to the phone, to both; the first one already accepted
    org_id = f"org-{uuid.uuid4().hex[:8]}"
    partner_id, secret = register_partner(runtime, org_id)
    email, phone = f"many-{uuid.uuid4().hex[:8]}@example.com", f"+4479111{uuid.uuid4().int % 100_000:05d}"
    order_ids = []
    for to in ({"email": email}, {"email": email, "phone": phone}, {"phone": phone}, {"email": email, "phone": phone}):
        body = order(org_id, email)
        delivered = deliver(runtime, partner_id, secret, {**body, "buyer": {"given_name": "Bo", **to}})
        assert delivered.status_code == 201, delivered.text
        order_ids.append(delivered.json()["order_id"])
    buyer = signed_up(runtime, email, phone=phone)
    (first_claim,) = [c for c in my_claims(runtime, buyer, limit=100)["claims"] if c["order_id"] == order_ids[0]]
    assert accept(runtime, buyer, first_claim["claim_id"]).status_code == 200

    # When the buyer pages through their claims one at a time
    listed, cursor, pages = [], None, 0
    while True:
        page = my_claims(runtime, buyer, limit=1, **({"cursor": cursor} if cursor else {}))
        assert len(page["claims"]) <= 1
        listed += page["claims"]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
        assert pages < 20

    # Then each open claim comes once (a claim to both identifiers too), newest first, the accepted one not at all
    assert [c["order_id"] for c in listed] == order_ids[:0:-1]
    assert [c["addressed_to"] for c in listed] == [["email", "phone"], ["phone"], ["email", "phone"]]
    assert len({c["claim_id"] for c in listed}) == 3
    created = [(c["created_at"], c["claim_id"]) for c in listed]
    assert created == sorted(created, reverse=True)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"cursor": "bm90IGEgY3Vyc29y"}, "cursor"),
        ({"cursor": "%%%"}, "cursor"),
        ({"limit": "0"}, "limit"),
        ({"limit": "101"}, "limit"),
        ({"limit": "ten"}, "limit"),
    ],
)
def test_a_bad_cursor_or_limit_is_a_422(runtime, params, field):
    buyer = signed_up(runtime)

    response = runtime.call("GET", "/v1/me/claims", buyer, params=params)

    assert response.status_code == 422, response.text
    assert field in json.dumps(response.json()["error"])


def test_a_cursor_made_for_other_identifiers_is_a_422(runtime):
    org_id = f"org-{uuid.uuid4().hex[:8]}"
    partner_id, secret = register_partner(runtime, org_id)
    email = f"cur-{uuid.uuid4().hex[:8]}@example.com"
    for _ in range(2):
        assert deliver(runtime, partner_id, secret, order(org_id, email)).status_code == 201
    buyer = signed_up(runtime, email)
    cursor = my_claims(runtime, buyer, limit=1)["next_cursor"]
    assert cursor

    response = runtime.call("GET", "/v1/me/claims", signed_up(runtime), params={"limit": 1, "cursor": cursor})

    assert response.status_code == 422 and response.json()["error"]["field"] == "cursor"


def test_an_access_token_sees_the_active_users_claims_and_no_token_sees_nothing(runtime):
    org_id = f"org-{uuid.uuid4().hex[:8]}"
    partner_id, secret = register_partner(runtime, org_id)
    email = f"acc-{uuid.uuid4().hex[:8]}@example.com"
    delivered = deliver(runtime, partner_id, secret, order(org_id, email))
    sub = f"acc-{uuid.uuid4().hex[:8]}"
    signed_up(runtime, email, sub=sub)
    access = runtime.token(sub, access_token=True)

    (claim,) = my_claims(runtime, access)["claims"]

    assert claim["order_id"] == delivered.json()["order_id"]
    assert runtime.call("GET", "/v1/me/claims").status_code == 401
    assert runtime.call("POST", f"/v1/me/claims/{claim['claim_id']}/accept").status_code == 401
    assert accept(runtime, access, "not/an-id").status_code == 404  # another route, not a claim id
    assert accept(runtime, access, "x" * 65).status_code == 422
    assert accept(runtime, access, claim["claim_id"]).status_code == 200


def crafted_cursor(position):
    return base64.urlsafe_b64encode(json.dumps(position, sort_keys=True).encode()).decode()


@pytest.mark.parametrize(
    "start",
    [
        {"a": "b"},  # not a key of the index
        {"pk": "x", "sk": "y", "gsi1pk": "CLAIMS_TO#email#someone-else@example.com", "gsi1sk": "z"},
    ],
)
def test_a_cursor_with_a_start_key_it_never_issued_is_a_422(runtime, start):
    email = f"crafted-{uuid.uuid4().hex[:8]}@example.com"
    buyer = signed_up(runtime, email)
    position = {"to": [f"CLAIMS_TO#email#{email}"], "after": [start], "done": [False], "last": None}

    response = runtime.call("GET", "/v1/me/claims", buyer, params={"cursor": crafted_cursor(position)})

    assert response.status_code == 422 and response.json()["error"]["field"] == "cursor"
