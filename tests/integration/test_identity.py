"""Identity you can trust, over HTTP on the local runtime: every identifier carries its proof, hints never
reach an active user, staff rights only from the staff console, signed claims typed before use."""

import uuid

import pytest

from tests.integration.test_linking import history_entitlements, pos_sale

pytestmark = pytest.mark.integration


def unique_email(name="person"):
    return f"{name}-{uuid.uuid4().hex[:8]}@example.com"


def unique_phone():
    return f"+4479111{uuid.uuid4().int % 100000:05d}"


def org():
    return f"org-{uuid.uuid4().hex[:6]}"


def sign_up(runtime, **claims):
    token = runtime.token(**claims)
    response = runtime.call("PUT", "/v1/me", token)
    assert response.status_code in (200, 201), response.text
    return token, response.json()


def try_sale(runtime, venue, customer, payment_method="cash"):
    """A window sale as the till sends it; the answer as it comes."""
    return runtime.call(
        "POST",
        f"/v1/orgs/{venue}/pos/sales",
        runtime.token(org_id=venue, roles=["pos"]),
        json_body={
            "currency": "EUR",
            "payment_method": payment_method,
            "lines": [{"kind": "ticket", "item_id": "ev", "quantity": 1, "unit_price": 1}],
            "customer": customer,
        },
        headers={"Idempotency-Key": uuid.uuid4().hex},
    )


def sold(sale):
    return {e["entitlement_id"] for e in sale["entitlements"]}


def test_a_window_sale_typed_with_someone_elses_email_never_gives_the_attacker_their_tickets(runtime):
    # Given a sale typed with the owner's email and the attacker's phone: one dormant user holding both hints
    owner_email, attacker_phone, venue = unique_email("owner"), unique_phone(), org()
    first = pos_sale(runtime, venue, {"email": owner_email, "phone": attacker_phone})

    # When the attacker signs up proving only the phone
    attacker, me = sign_up(runtime, phone_number=attacker_phone, phone_number_verified=True)

    # Then they hold the phone but not the owner's email, and (once the linker has brought it) the sale
    # typed with their phone, which they proved first
    assert (me["phone"], me["email"]) == (attacker_phone, None)
    runtime.wait_for(lambda: history_entitlements(runtime, attacker) == sold(first))

    # When later sales are typed with the owner's email, at this org and at another
    later = [pos_sale(runtime, venue, {"email": owner_email}), pos_sale(runtime, org(), {"email": owner_email})]

    # Then none reaches the attacker
    assert history_entitlements(runtime, attacker) == sold(first)

    # When the owner signs up proving the email
    owner, me = sign_up(runtime, email=owner_email, email_verified=True)

    # Then the owner holds their email, and every sale typed with it since the attacker's sign-up is theirs
    assert me["email"] == owner_email
    assert history_entitlements(runtime, owner) == sold(later[0]) | sold(later[1])
    assert history_entitlements(runtime, attacker) == sold(first)


def test_a_reseller_order_for_an_email_an_attacker_never_proved_stays_away_from_them(runtime):
    # Given a dormant user holding the owner's email and the attacker's phone, activated by the attacker's phone
    owner_email, attacker_phone, venue = unique_email("victim"), unique_phone(), org()
    first = pos_sale(runtime, venue, {"email": owner_email, "phone": attacker_phone})
    attacker, _ = sign_up(runtime, phone_number=attacker_phone, phone_number_verified=True)
    runtime.wait_for(lambda: history_entitlements(runtime, attacker) == sold(first))  # proved first: theirs
    before = history_entitlements(runtime, attacker)

    # When a window sale for that email comes afterwards
    after = pos_sale(runtime, venue, {"email": owner_email})

    # Then it is not in the attacker's history, and the owner gets it on sign-up
    assert history_entitlements(runtime, attacker) == before
    owner, _ = sign_up(runtime, email=owner_email, email_verified=True)
    assert sold(after) <= history_entitlements(runtime, owner)


@pytest.mark.parametrize("client_id", ["local-consumer-app", "local-staff-console"])
def test_staff_claims_in_a_token_grant_nothing(runtime, client_id):
    venue = org()
    pos_sale(runtime, venue, {"email": unique_email()})
    claims = {"org_id": venue, "roles": ["admin"], "cognito:groups": ["admin"], "custom:org_id": venue}
    forged = runtime.token(client_id=client_id, extra_claims=claims)

    response = runtime.call("GET", f"/v1/orgs/{venue}/profiles", forged)

    assert response.status_code == 404  # no membership: the org does not exist for this caller
    assert "captured" not in response.text


def test_a_staff_member_of_the_org_through_a_consumer_app_gets_nothing(runtime):
    venue = org()
    pos_sale(runtime, venue, {"email": unique_email()})
    runtime.token("dana", org_id=venue, roles=["admin"])  # dana is staff of the venue...

    from_the_consumer_app = runtime.token("dana", client_id="local-consumer-app")  # ...but not in this app

    assert runtime.call("GET", f"/v1/orgs/{venue}/profiles", from_the_consumer_app).status_code == 404


@pytest.mark.parametrize(
    "claims",
    [
        {"email": 5},
        {"email": ["a@example.com"]},
        {"phone_number": {"n": 1}},
        {"phone_number": True},
        {"sub": "x" * 2048},
        {"sub": 42},
        {"sub": None},
    ],
    ids=str,
)
def test_malformed_signed_claims_are_401_never_5xx(runtime, claims):
    token = runtime.token(extra_claims=claims, client_id="local-staff-console")

    for method, path in (("PUT", "/v1/me"), ("GET", "/v1/me"), ("GET", f"/v1/orgs/{org()}/profiles")):
        response = runtime.call(method, path, token)
        assert response.status_code == 401, (method, path, response.status_code, response.text)


@pytest.mark.parametrize("flag", ["true", 1, None, [], {}])
def test_a_verification_flag_that_is_not_json_true_verifies_nothing(runtime, flag):
    email = unique_email()
    token = runtime.token(email=email, extra_claims={"email_verified": flag})

    response = runtime.call("PUT", "/v1/me", token)

    assert response.status_code == 201 and response.json()["email"] is None


def test_a_look_alike_email_never_lands_on_another_persons_profile(runtime):
    venue = org()
    kate = pos_sale(runtime, venue, {"email": "kate@example.com"})

    response = try_sale(runtime, venue, {"email": "\u212aate@example.com"})

    assert response.status_code == 422 and response.json()["error"]["field"] == "customer.email"
    admin = runtime.token(org_id=venue, roles=["admin"])
    detail = runtime.call("GET", f"/v1/orgs/{venue}/profiles/{kate['profile']['profile_id']}", admin).json()
    assert len(detail["orders"]) == 1


def test_verified_identifiers_are_shown_after_activation_and_merge(runtime):
    # Given one dormant user by email and another by phone
    email, phone = unique_email(), unique_phone()
    pos_sale(runtime, org(), {"email": email})
    pos_sale(runtime, org(), {"phone": phone})

    # When the person verifies both
    token, me = sign_up(runtime, email=email, email_verified=True, phone_number=phone, phone_number_verified=True)

    # Then both are theirs and shown
    assert (me["email"], me["phone"]) == (email, phone)
    me = runtime.call("GET", "/v1/me", token).json()
    assert (me["email"], me["phone"]) == (email, phone)


def test_a_registered_person_verifying_a_held_email_sees_it_and_its_sales(runtime):
    # Given a registered person, and a window sale to an email of theirs (a dormant user holds it)
    sub, email = f"user-{uuid.uuid4().hex[:8]}", unique_email()
    sign_up(runtime, sub=sub)
    sale = pos_sale(runtime, org(), {"email": email})

    # When they sign in with that email verified
    token, me = sign_up(runtime, sub=sub, email=email, email_verified=True)

    # Then GET /v1/me shows it, and the sale reaches their history through the linker
    assert me["email"] == email
    assert runtime.call("GET", "/v1/me", token).json()["email"] == email
    runtime.wait_for(lambda: history_entitlements(runtime, token) == sold(sale))


def test_a_card_on_a_registered_customers_sale_never_pulls_card_only_sales_to_them(runtime):
    # Given a registered customer who paid with a card at the window
    venue, email, card = org(), unique_email(), f"fp_{uuid.uuid4().hex[:12]}"
    token, _ = sign_up(runtime, email=email, email_verified=True)

    def card_sale(customer):
        response = try_sale(runtime, venue, customer, payment_method="card")
        assert response.status_code == 201, response.text
        return response.json()

    theirs = card_sale({"email": email, "card_fingerprint": card})

    # When someone pays with the same card, giving nothing else, twice
    anonymous = [card_sale({"card_fingerprint": card}), card_sale({"card_fingerprint": card})]

    # Then the customer's history holds only their own sale; the card-only sales share one anonymous profile
    assert history_entitlements(runtime, token) == sold(theirs)
    assert anonymous[0]["profile"]["profile_id"] == anonymous[1]["profile"]["profile_id"]
    assert anonymous[0]["profile"]["linked_account"] is False
