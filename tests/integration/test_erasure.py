"""Erasure that holds, over HTTP on the local runtime (DynamoDB Local, the stream and the linker running):
one test per scenario of docs/decisions.md's privacy section. What is left is read by scanning every item
of both tables for the values the person gave, never through the service's own records."""

import uuid

import pytest

from tests.integration.test_claim_lifecycle import reseller_order
from tests.integration.test_identity import unique_phone
from tests.integration.test_linking import pos_sale
from tests.integration.test_privacy import all_items, holding, purchase
from tests.integration.test_proof_per_sale import sign_up

pytestmark = pytest.mark.integration


def tag() -> str:
    return uuid.uuid4().hex[:8]


def staff(runtime, org_id, role):
    return runtime.token(f"{role}-{tag()}", org_id=org_id, roles=[role])


def erased_everywhere(runtime, *values):
    """Once the linker has run: no item of either table (pending effects included) holds any of `values`."""
    return not holding(all_items(runtime), *values)


def test_a_merged_profile_is_exported_then_erased_with_its_person(runtime):
    # Given a person registered with a phone who bought at org A (profile T), and a window sale at org A typed
    # with their email and family name (profile P, a dormant holder's)
    t, org_a = tag(), f"org-{tag()}"
    email, mobile, family = f"m-{t}@example.com", unique_phone(), f"Zq{t}"
    token = sign_up(runtime, f"m-{t}", phone_number=mobile, phone_number_verified=True)
    purchase(runtime, token, org_a)
    window = pos_sale(runtime, org_a, {"email": email, "family_name": family})
    # When they verify the email: P merges into T
    token = sign_up(
        runtime, f"m-{t}", phone_number=mobile, phone_number_verified=True, email=email, email_verified=True
    )
    runtime.wait_for(lambda: len(runtime.call("GET", "/v1/me/history", token).json()["entries"]) == 6)

    # Then their export shows P, marked merged into T
    exported = runtime.call("GET", "/v1/me/export", token).json()
    merged = [p for p in exported["profiles"] if p.get("merged_into")]
    assert [p["profile_id"] for p in merged] == [window["profile"]["profile_id"]]

    # When they erase themselves
    assert runtime.call("DELETE", "/v1/me", token).status_code == 204

    # Then nothing anywhere holds the email, the phone or the name, and staff reading P see nobody
    runtime.wait_for(lambda: erased_everywhere(runtime, email, mobile, family), timeout=40)
    viewer = staff(runtime, org_a, "viewer")
    shell = runtime.call("GET", f"/v1/orgs/{org_a}/profiles/{window['profile']['profile_id']}", viewer)
    assert shell.status_code in (200, 404) and family not in shell.text and email not in shell.text


def test_an_erasure_while_a_link_is_pending_completes_into_the_erasure(runtime):
    # Given a window sale typed with an email at org B, and a person who verifies that email and erases
    # themselves at once, before the linker can have moved anything
    t = tag()
    email, family = f"l-{t}@example.com", f"Zl{t}"
    pos_sale(runtime, f"org-{t}", {"email": email, "family_name": family})
    token = sign_up(runtime, f"l-{t}", email=email, email_verified=True)
    assert runtime.call("DELETE", "/v1/me", token).status_code == 204

    # Then the link does not fail forever: nothing is left pending, nothing holds their email or name
    runtime.wait_for(lambda: erased_everywhere(runtime, email, family), timeout=40)
    assert not [e for e in runtime.published() if e["detail-type"] == "ProfilesLinked" and email in str(e)]


def test_a_sale_during_the_erasure_goes_to_a_new_holder_and_waits_for_the_next_proof(runtime):
    # Given a person who erased themselves
    t, org = tag(), f"org-{tag()}"
    email = f"d-{t}@example.com"
    token = sign_up(runtime, f"d-{t}", email=email, email_verified=True)
    assert runtime.call("DELETE", "/v1/me", token).status_code == 204

    # When a window sale is typed with their old email
    sold = pos_sale(runtime, org, {"email": email})

    # Then it reaches no account now, and whoever proves the email next gets it
    assert sold["profile"]["linked_account"] is False
    again = sign_up(runtime, f"d2-{t}", email=email, email_verified=True)
    runtime.wait_for(
        lambda: (
            {
                e["order"]["order_id"]
                for e in runtime.call("GET", "/v1/me/history", again).json()["entries"]
                if e["type"] == "order"
            }
            == {sold["order"]["order_id"]}
        )
    )


def test_an_erased_profile_takes_nothing_new(runtime):
    # Given an anonymous window sale (a receipt code) whose profile the org erased
    org = f"org-{tag()}"
    sold = pos_sale(runtime, org, {"given_name": "Anon"})
    profile_id, code = sold["profile"]["profile_id"], sold["receipt_code"]
    admin = staff(runtime, org, "admin")
    assert runtime.call("POST", f"/v1/orgs/{org}/profiles/{profile_id}/erase", admin).status_code == 200

    # Then its code redeems nothing, staff cannot write a name back, and no consent is stored on it: 409 erased
    someone = sign_up(runtime, f"r-{tag()}", email=f"r-{tag()}@example.com", email_verified=True)
    redeemed = runtime.call("POST", f"/v1/receipts/{code}", someone)
    assert (redeemed.status_code, redeemed.json()["error"]["code"]) == (409, "erased"), redeemed.text
    version = runtime.call("GET", f"/v1/orgs/{org}/profiles/{profile_id}", admin).json()["profile"]["version"]
    edit = {"version": version, "attributes": {"given_name": "Back"}}
    edited = runtime.call("PATCH", f"/v1/orgs/{org}/profiles/{profile_id}", admin, json_body=edit)
    assert (edited.status_code, edited.json()["error"]["code"]) == (409, "erased"), edited.text
    consent = {"consents": [{"purpose": "marketing_email", "status": "granted"}]}
    said = runtime.call("PUT", f"/v1/orgs/{org}/profiles/{profile_id}/consents", admin, json_body=consent)
    assert (said.status_code, said.json()["error"]["code"]) == (409, "erased"), said.text


def test_an_org_erasure_forgets_the_open_claims_contacts_and_the_dormant_holders(runtime):
    # Given a reseller's order for a buyer (an open claim, a dormant holder of their email)
    org_id, _, _, email, _ = reseller_order(runtime)
    viewer = staff(runtime, org_id, "viewer")
    (profile,) = runtime.call("GET", f"/v1/orgs/{org_id}/profiles", viewer, params={"email": email}).json()["profiles"]

    # When the org erases that profile
    admin = staff(runtime, org_id, "admin")
    assert runtime.call("POST", f"/v1/orgs/{org_id}/profiles/{profile['profile_id']}/erase", admin).status_code == 200

    # Then no item holds the email: not the claim, not the dormant holder, not its identifier
    runtime.wait_for(lambda: erased_everywhere(runtime, email), timeout=40)


def test_an_identifier_typed_on_someone_elses_sale_goes_with_its_persons_erasure(runtime):
    # Given staff typing the first customer's email with the second customer's phone on the second's sale
    t, org = tag(), f"org-{tag()}"
    first_email, second_phone = f"f-{t}@example.com", unique_phone()
    second = sign_up(runtime, f"s-{t}", phone_number=second_phone, phone_number_verified=True)
    pos_sale(runtime, org, {"email": first_email, "phone": second_phone})
    # When the first customer verifies the email, then erases themselves
    first = sign_up(runtime, f"f-{t}", email=first_email, email_verified=True)
    assert runtime.call("DELETE", "/v1/me", first).status_code == 204

    # Then the second's export no longer shows it, staff search by it finds nobody, and no item holds it
    runtime.wait_for(lambda: erased_everywhere(runtime, first_email), timeout=40)
    assert first_email not in runtime.call("GET", "/v1/me/export", second).text
    viewer = staff(runtime, org, "viewer")
    found = runtime.call("GET", f"/v1/orgs/{org}/profiles", viewer, params={"email": first_email}).json()
    assert found["profiles"] == []
    # and the second's trail says an identifier was forgotten, never which
    (profile,) = runtime.call("GET", f"/v1/orgs/{org}/profiles", viewer, params={"phone": second_phone}).json()[
        "profiles"
    ]
    runtime.wait_for(
        lambda: (
            "identifier_forgotten"
            in {
                e["kind"]
                for e in runtime.call(
                    "GET", f"/v1/orgs/{org}/profiles/{profile['profile_id']}/activity", viewer
                ).json()["entries"]
            }
        )
    )


def test_every_orders_count_survives_the_erasure(runtime):
    # The org's accounts: the person's purchases stay, leading to nobody
    t, org = tag(), f"org-{tag()}"
    email = f"c-{t}@example.com"
    token = sign_up(runtime, f"c-{t}", email=email, email_verified=True)
    for _ in range(3):
        purchase(runtime, token, org)

    def orders():
        return [
            i
            for i in all_items(runtime)
            if str(i.get("pk", "")).startswith(f"ORG#{org}#PROFILE#") and i.get("type") == "order"
        ]

    before = len(orders())
    user_id = next(i["user_id"] for i in orders())
    assert runtime.call("DELETE", "/v1/me", token).status_code == 204

    # Then, once the linker is done, every order is there, leading to nobody, and the user is gone
    def done():
        items = all_items(runtime)
        keyed = [i for i in orders() if "user_id" in i or "gsi1pk" in i]
        return not keyed and not [i for i in items if i.get("pk") == f"USER#{user_id}"]

    runtime.wait_for(done, timeout=40)
    assert len(orders()) == before == 3
    assert not holding(all_items(runtime), email)
