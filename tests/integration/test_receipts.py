"""Receipt codes over HTTP on the local runtime (DynamoDB Local, the stream and the linker running)."""

import uuid

import pytest

from customer_profiles.domain.sales.receipt_codes import check_symbol

pytestmark = pytest.mark.integration

LINES = [{"kind": "ticket", "item_id": "ev-9", "quantity": 2, "unit_price": 3000}]


def anonymous_sale(runtime, org_id):
    seller = runtime.token(f"till-{uuid.uuid4().hex[:6]}", org_id=org_id, roles=["pos"])
    response = runtime.call(
        "POST",
        f"/v1/orgs/{org_id}/pos/sales",
        seller,
        json_body={"currency": "GBP", "payment_method": "cash", "lines": LINES},
        headers={"Idempotency-Key": uuid.uuid4().hex},
    )
    assert response.status_code == 201, response.text
    return response.json()


def signed_up(runtime):
    token = runtime.token(email=f"p-{uuid.uuid4().hex[:8]}@example.com", email_verified=True)
    assert runtime.call("PUT", "/v1/me", token).status_code == 201
    return token


def history(runtime, token, org_id):
    entries = runtime.call("GET", "/v1/me/history", token, params={"org_id": org_id, "limit": 100}).json()["entries"]
    return (
        {e["order"]["order_id"] for e in entries if e["type"] == "order"},
        {e["entitlement"]["entitlement_id"] for e in entries if e["type"] == "entitlement"},
    )


def redeem(runtime, token, code):
    return runtime.call("POST", f"/v1/receipts/{code}", token)


def test_a_new_customer_redeems_an_anonymous_sales_code_into_their_history(runtime):
    # Given an anonymous cash sale, whose answer carries a receipt code
    org_id = f"org-{uuid.uuid4().hex[:8]}"
    sale = anonymous_sale(runtime, org_id)
    code = sale["receipt_code"]
    assert code and len(code) == len("XXXX-XXXX-XXXX-C")
    token = signed_up(runtime)

    # When the customer types it into the app (lower case, no hyphens)
    redeemed = redeem(runtime, token, code.replace("-", "").lower())

    # Then the sale is in a profile made for them in the org, and its order and entitlements in their history
    assert redeemed.status_code == 200, redeemed.text
    assert redeemed.json()["profile_created"] is True
    mine = runtime.call("GET", f"/v1/orgs/{org_id}/profile", token)
    assert mine.status_code == 200 and mine.json()["profile_id"] == redeemed.json()["profile_id"]
    expected = ({sale["order"]["order_id"]}, {e["entitlement_id"] for e in sale["entitlements"]})
    assert history(runtime, token, org_id) == expected  # at once: the sale moved in the redemption
    # A retry after a lost answer gets the same answer; someone else gets 410
    assert redeem(runtime, token, code).json() == redeemed.json()
    assert redeem(runtime, signed_up(runtime), code).status_code == 410


def test_a_customer_with_a_profile_there_gets_the_sale_in_it_nothing_lost(runtime):
    # Given a customer who already bought in the org, and an anonymous sale there
    org_id = f"org-{uuid.uuid4().hex[:8]}"
    token = signed_up(runtime)
    bought = runtime.call(
        "POST",
        f"/v1/orgs/{org_id}/orders",
        token,
        json_body={"currency": "GBP", "payment_method": "card", "lines": LINES},
        headers={"Idempotency-Key": uuid.uuid4().hex},
    )
    assert bought.status_code == 201, bought.text
    sale = anonymous_sale(runtime, org_id)
    before = history(runtime, token, org_id)

    # When they redeem the sale's code
    redeemed = redeem(runtime, token, sale["receipt_code"])

    # Then the sale joins their profile: every order and entitlement of both, once, in their history
    assert redeemed.status_code == 200, redeemed.text
    assert redeemed.json()["merged"] is True and redeemed.json()["profile_id"] == bought.json()["order"]["profile_id"]
    expected = (
        before[0] | {sale["order"]["order_id"]},
        before[1] | {e["entitlement_id"] for e in sale["entitlements"]},
    )
    assert history(runtime, token, org_id) == expected
    assert len(expected[0]) == 2 and len(expected[1]) == 4
    # the till's anonymous profile is left with nothing, and still nobody's
    table = runtime.table()
    key = {"pk": f"ORG#{org_id}#PROFILE#{sale['profile']['profile_id']}", "sk": "PROFILE"}
    assert "user_id" not in table.get_item(Key=key, ConsistentRead=True)["Item"]


def test_wrong_and_unknown_codes_answer_in_the_error_shape(runtime):
    sale = anonymous_sale(runtime, f"org-{uuid.uuid4().hex[:8]}")
    token = signed_up(runtime)
    code = sale["receipt_code"]
    typo = code[:-1] + ("0" if code[-1] != "0" else "1")

    mistyped = redeem(runtime, token, typo)
    unknown = redeem(runtime, token, "0000-0000-0000-0")
    not_a_code = redeem(runtime, token, "hello")
    too_long = redeem(runtime, token, "A" * 200)

    assert mistyped.status_code == 422 and mistyped.json()["error"]["code"] == "receipt_code_mistyped"
    assert mistyped.json()["error"]["field"] == "code"
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "not_found"
    assert not_a_code.status_code == 422 and not_a_code.json()["error"]["field"] == "code"
    assert too_long.status_code == 422 and "error" in too_long.json()
    assert redeem(runtime, None, code).status_code == 401


def test_failed_attempts_are_rate_limited_with_retry_after(runtime):
    sale = anonymous_sale(runtime, f"org-{uuid.uuid4().hex[:8]}")
    token = signed_up(runtime)
    guesses = [f"{n:04d}-0000-0000-" for n in range(1, 12)]

    statuses = [redeem(runtime, token, guess + _check(guess)).status_code for guess in guesses]
    limited = redeem(runtime, token, sale["receipt_code"])  # even the right code, while over the limit

    assert statuses == [404] * 10 + [429]
    assert limited.status_code == 429 and limited.json()["error"]["code"] == "too_many_attempts"
    assert 1 <= int(limited.headers["Retry-After"]) <= 900
    assert redeem(runtime, signed_up(runtime), sale["receipt_code"]).status_code == 200  # per user


def _check(guess):
    return check_symbol(guess.replace("-", ""))
