"""Receipt codes of anonymous sales: their format, their issue, and their redemption, on moto."""

import contextlib
import hashlib
import json
import os
import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import app_api
from customer_profiles.data import keys
from customer_profiles.domain.effects import effects
from customer_profiles.domain.idempotency import under_key
from customer_profiles.domain.identity import history, users
from customer_profiles.domain.sales import orders, pos, receipt_codes, receipts
from customer_profiles.edge import secrets as secret_store
from customer_profiles.errors import Gone, InvalidInput, NotFound, ReceiptCodeMistyped, TooManyAttempts
from customer_profiles.models.api import OrderRequest, PosSaleRequest
from tests.unit.conftest import FakeContext, api_event, staff_principal, user_principal
from tests.unit.test_data_layer import unprocessed_half

ORG = "org-venue"
SELLER = staff_principal("till-1", ORG, "pos")
LINES = [{"kind": "ticket", "item_id": "ev-1", "quantity": 2, "unit_price": 2500}]
CODE_SHAPE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z*~$=U]$")


def stored_hash(code, key=None):
    """The hash a code is stored under: its HMAC with the current receipt-code key (or `key`)."""
    return receipt_codes.code_hash(receipt_codes.normalised(code), key or secret_store.receipt_code_keys()[0])


def sell(store, org_id=ORG, **customer):
    seller = SELLER if org_id == ORG else staff_principal(f"till-{org_id}", org_id, "pos")
    request = PosSaleRequest.model_validate(
        {
            "currency": "GBP",
            "payment_method": "card" if "card_fingerprint" in customer else "cash",
            "lines": LINES,
            "customer": customer,
        }
    )
    return pos.create_pos_sale(store, seller, org_id, request, receipt_keys=secret_store.receipt_code_keys)


def buy(store, principal, org_id=ORG):
    users.register_me(store, principal)
    request = OrderRequest.model_validate({"currency": "GBP", "payment_method": "card", "lines": LINES})
    return orders.place_consumer_order(store, principal, org_id, request)


def person(name="pat"):
    return user_principal(email=f"{name}@example.com", email_verified=True)


def run_stream(store):
    """What the linker does from the stream: complete every pending effect."""
    result = effects.redrive(store, lambda events: None)
    assert not result.failed, result.failed


def history_ids(store, principal, org_id=ORG):
    page = history.history_of_me(store, principal, org_id=org_id, limit=100, cursor=None)
    return (
        sorted(e.order.order_id for e in page.entries if e.order),
        sorted(e.entitlement.entitlement_id for e in page.entries if e.entitlement),
    )


# --- the format ---------------------------------------------------------------------------------------------
def test_the_check_symbol_is_crockfords_mod_37():
    # 1234 = "16J" in Crockford base32, and 1234 % 37 = 13 = "D" (the scheme's own example, "16JD").
    assert receipt_codes.check_symbol("16J") == "D"
    assert receipt_codes.check_symbol("10") == "*"  # 32 % 37 = 32: the first check-only symbol
    assert receipt_codes.check_symbol("14") == "U"  # 36


codes = st.text(alphabet=receipt_codes.SYMBOLS, min_size=12, max_size=12).map(
    lambda body: receipt_codes.formatted(body + receipt_codes.check_symbol(body))
)


@given(st.builds(receipt_codes.new_receipt_code) | codes)
def test_every_generated_code_has_the_printed_shape_and_validates(code):
    assert CODE_SHAPE.match(code), code
    assert receipt_codes.formatted(receipt_codes.normalised(code)) == code


@given(codes, st.integers(0, 12), st.sampled_from(receipt_codes.CHECK_SYMBOLS))
def test_any_single_symbol_substitution_is_caught_as_a_typo(code, position, symbol):
    compact = code.replace("-", "")
    alphabet = receipt_codes.SYMBOLS if position < 12 else receipt_codes.CHECK_SYMBOLS
    if symbol == compact[position] or symbol not in alphabet:
        return
    typo = compact[:position] + symbol + compact[position + 1 :]
    with pytest.raises(ReceiptCodeMistyped) as raised:
        receipt_codes.normalised(typo)
    assert raised.value.field == "code"


@given(codes, st.integers(0, 10))  # within the 12 symbols (the check symbol has an alphabet of its own)
def test_swapping_two_neighbouring_symbols_is_caught_as_a_typo(code, position):
    compact = code.replace("-", "")
    if compact[position] == compact[position + 1]:
        return
    swapped = compact[:position] + compact[position + 1] + compact[position] + compact[position + 2 :]
    with pytest.raises(ReceiptCodeMistyped):
        receipt_codes.normalised(swapped)


@given(codes, st.data())
def test_typing_is_forgiving_case_separators_and_look_alikes(code, data):
    compact = code.replace("-", "")
    typed = ""
    for symbol in compact:
        choices = [symbol, symbol.lower(), *{"1": ["I", "i", "L", "l"], "0": ["O", "o"]}.get(symbol, [])]
        typed += data.draw(st.sampled_from(choices)) + data.draw(st.sampled_from(["", "", "-", " "]))
    assert receipt_codes.normalised(typed) == compact
    assert receipt_codes.code_hash(receipt_codes.normalised(typed), b"k") == receipt_codes.code_hash(compact, b"k")


@pytest.mark.parametrize("typed", ["", "ABCD", "ABCD-EFGH-JKMN-PQ", "ABCD-EFGH-JKMU-0", "A" * 65, "ABCD!EFGH-JKMN-P"])
def test_what_cannot_be_a_code_is_a_422_naming_the_field(typed):
    with pytest.raises(InvalidInput) as raised:
        receipt_codes.normalised(typed)
    assert raised.value.field == "code" and not isinstance(raised.value, ReceiptCodeMistyped)


# --- the sale -----------------------------------------------------------------------------------------------
def test_an_anonymous_sale_answers_a_code_and_the_table_keeps_only_its_hash(store, aws):
    sold = sell(store)

    assert sold.receipt_code and CODE_SHAPE.match(sold.receipt_code)
    stored = aws.Table("profiles-test").scan()["Items"]
    assert sold.receipt_code.replace("-", "") not in json.dumps(stored, default=str)
    assert sold.receipt_code not in json.dumps(stored, default=str)
    receipt = store.get_receipt(stored_hash(sold.receipt_code))
    assert receipt.order_id == sold.order.order_id and receipt.profile_id == sold.profile.profile_id
    assert receipt.status == "open" and receipt.expires_at > sold.order.created_at


def test_the_table_keeps_the_codes_hmac_with_the_server_key_never_a_plain_hash(store, aws):
    # Given an anonymous sale
    sold = sell(store)
    normalised = receipt_codes.normalised(sold.receipt_code)

    # When the table is read as someone without the key would
    pks = {i["pk"] for i in aws.Table("profiles-test").scan()["Items"] if i["pk"].startswith("RECEIPT#")}

    # Then the receipt is under the code's HMAC with the current key: no unkeyed hash of any form of it
    assert pks == {f"RECEIPT#{stored_hash(sold.receipt_code)}"}
    for form in (normalised, sold.receipt_code, normalised.lower()):
        for digest in (hashlib.sha256, hashlib.sha512, hashlib.md5):
            assert f"RECEIPT#{digest(form.encode()).hexdigest()}" not in pks
    assert stored_hash(sold.receipt_code, b"another-key") != stored_hash(sold.receipt_code)


def rotate(keys_text):
    """Write the receipt-code keys as the secret holds them (white space separated, current first)."""
    Path(os.environ["LOCAL_RECEIPT_CODE_KEYS_FILE"]).write_text(keys_text)


def test_a_rotation_keeps_open_codes_redeemable_and_new_sales_use_the_new_key(store):
    # Given two codes sold under the first key
    rotate("key-one")
    before, forgotten = sell(store), sell(store)

    # When a second key is added, then made current, and a code is sold under it
    rotate("key-one key-two")
    assert store.get_receipt(stored_hash(before.receipt_code, b"key-one"))  # adding a key changes no sale
    rotate("key-two key-one")
    after = sell(store)

    # Then the new code is kept under the new key, and both codes redeem
    assert store.get_receipt(stored_hash(after.receipt_code, b"key-two"))
    assert store.get_receipt(stored_hash(after.receipt_code, b"key-one")) is None
    assert (
        receipts.redeem_receipt(store, person("ada"), before.receipt_code, keys=secret_store.receipt_code_keys).order_id
        == before.order.order_id
    )
    assert (
        receipts.redeem_receipt(store, person("bea"), after.receipt_code, keys=secret_store.receipt_code_keys).order_id
        == after.order.order_id
    )

    # and once the first key is retired (after its codes' expiry), a code only it hashed is unknown
    rotate("key-two")
    with pytest.raises(NotFound):
        receipts.redeem_receipt(store, person("cy"), forgotten.receipt_code, keys=secret_store.receipt_code_keys)


def test_redemption_under_several_keys_is_one_batch_read_that_survives_unprocessed_keys(store, monkeypatch):
    # Given a code sold under the older of two keys, and DynamoDB leaving half of each batch unprocessed
    rotate("key-old")
    sold = sell(store)
    rotate("key-new key-old")
    unprocessed_half(store, monkeypatch)
    halved = store.db.client.batch_get_item
    receipt_reads = []

    def recorded(RequestItems):
        (request,) = RequestItems.values()
        receipt_reads.append(sorted(k["pk"] for k in request["Keys"] if k["pk"].startswith("RECEIPT#")))
        return halved(RequestItems=RequestItems)

    monkeypatch.setattr(store.db.client, "batch_get_item", recorded)

    # When it is redeemed
    answer = receipts.redeem_receipt(store, person("eve"), sold.receipt_code, keys=secret_store.receipt_code_keys)

    # Then both candidates were asked for in one request, the unprocessed one again, and the code redeemed
    candidates = sorted(f"RECEIPT#{stored_hash(sold.receipt_code, key)}" for key in (b"key-new", b"key-old"))
    asked = [r for r in receipt_reads if r]
    assert asked[0] == candidates and len(asked) == 2 and asked[1][0] in candidates
    assert answer.order_id == sold.order.order_id


def test_a_sale_for_someone_answers_no_code(store):
    assert sell(store, email="kim@example.com").receipt_code is None


def test_the_codes_expiry_follows_the_setting(store):
    request = PosSaleRequest.model_validate({"currency": "GBP", "payment_method": "cash", "lines": LINES})
    sold = pos.create_pos_sale(
        store, SELLER, ORG, request, receipt_code_days=3, receipt_keys=secret_store.receipt_code_keys
    )
    receipt = store.get_receipt(stored_hash(sold.receipt_code))
    created = datetime.fromisoformat(sold.order.created_at)
    assert datetime.fromisoformat(receipt.expires_at) - created == timedelta(days=3)


def test_the_idempotent_replay_of_a_sale_shows_the_same_code(store):
    request = PosSaleRequest.model_validate({"currency": "GBP", "payment_method": "cash", "lines": LINES})
    once = under_key("create_pos_sale", caller="staff:org-venue:till-1", key="k-1", payload={"n": 1})

    first = pos.create_pos_sale(store, SELLER, ORG, request, once, receipt_keys=secret_store.receipt_code_keys)
    again = pos.create_pos_sale(store, SELLER, ORG, request, once)

    assert again.receipt_code == first.receipt_code and again.order.order_id == first.order.order_id


def test_each_anonymous_sale_has_its_own_code(store):
    assert sell(store).receipt_code != sell(store).receipt_code


# --- redemption ---------------------------------------------------------------------------------------------
def test_a_new_customer_redeems_the_code_and_the_sale_comes_to_a_profile_of_theirs(store):
    sold = sell(store)
    pat = person()

    answer = receipts.redeem_receipt(
        store, pat, sold.receipt_code.lower().replace("-", " "), keys=secret_store.receipt_code_keys
    )

    assert answer.profile_created and not answer.merged and answer.order_id == sold.order.order_id
    user_id = store.user_id_for_subject(pat.subject)
    assert store.profile_id_of_user_in_org(user_id, ORG) == answer.profile_id != sold.profile.profile_id
    assert history_ids(store, pat) == ([sold.order.order_id], sorted(e.entitlement_id for e in sold.entitlements))
    assert store.profile_with_children(ORG, sold.profile.profile_id)[1:] == ([], [])  # nothing left behind
    assert store.get_profile(ORG, sold.profile.profile_id).user_id is None  # the till's profile stays anonymous
    run_stream(store)
    assert store.all_pending() == []


def test_a_customer_with_a_profile_in_the_org_gets_the_sale_in_it_nothing_lost(store):
    pat = person()
    bought = buy(store, pat)
    sold = sell(store)
    user_id = store.user_id_for_subject(pat.subject)
    mine = store.profile_id_of_user_in_org(user_id, ORG)

    answer = receipts.redeem_receipt(store, pat, sold.receipt_code, keys=secret_store.receipt_code_keys)

    assert answer.merged and not answer.profile_created and answer.profile_id == mine
    _, orders_after, entitlements_after = store.profile_with_children(ORG, mine)
    assert {o.order_id for o in orders_after} == {bought.order.order_id, sold.order.order_id}
    assert len(entitlements_after) == 4
    assert store.profile_with_children(ORG, sold.profile.profile_id)[1:] == ([], [])
    assert history_ids(store, pat)[0] == sorted([bought.order.order_id, sold.order.order_id])


def test_a_code_brings_its_own_sale_only_not_others_its_card_linked(store):
    # A card links an org's anonymous card sales into one profile, but each sale has its own code: sharing a
    # holder proves nothing, so each code brings only the sale it was printed for.
    first = sell(store, card_fingerprint="fp_card_0007")
    second = sell(store, card_fingerprint="fp_card_0007")
    assert second.profile.profile_id == first.profile.profile_id
    pat, sam = person("pat"), person("sam")

    receipts.redeem_receipt(store, pat, first.receipt_code, keys=secret_store.receipt_code_keys)
    receipts.redeem_receipt(store, sam, second.receipt_code, keys=secret_store.receipt_code_keys)

    assert history_ids(store, pat)[0] == [first.order.order_id]
    assert history_ids(store, sam)[0] == [second.order.order_id]


def test_an_unknown_code_is_404_whether_or_not_one_existed(store):
    pat = person()
    with pytest.raises(NotFound) as never_issued:
        receipts.redeem_receipt(store, pat, receipt_codes.new_receipt_code(), keys=secret_store.receipt_code_keys)
    assert never_issued.value.message == receipts.UNKNOWN


def test_a_mistyped_code_is_a_422_and_reads_nothing(store):
    sold = sell(store)
    typo = sold.receipt_code[:-1] + ("0" if sold.receipt_code[-1] != "0" else "1")
    with pytest.raises(ReceiptCodeMistyped):
        receipts.redeem_receipt(store, person(), typo, keys=secret_store.receipt_code_keys)


def test_an_expired_code_is_410(store, aws):
    sold = sell(store)
    hashed = stored_hash(sold.receipt_code)
    aws.Table("profiles-test").update_item(
        Key=keys.receipt_key(hashed),
        UpdateExpression="SET expires_at = :past",
        ExpressionAttributeValues={":past": "2020-01-01T00:00:00.000Z"},
    )

    with pytest.raises(Gone) as raised:
        receipts.redeem_receipt(store, person(), sold.receipt_code, keys=secret_store.receipt_code_keys)
    assert raised.value.message == receipts.EXPIRED
    assert store.get_profile(ORG, sold.profile.profile_id).user_id is None


def test_the_same_person_redeeming_again_gets_the_first_answer(store):
    sold = sell(store)
    pat = person()
    first = receipts.redeem_receipt(store, pat, sold.receipt_code, keys=secret_store.receipt_code_keys)
    run_stream(store)

    again = receipts.redeem_receipt(store, pat, sold.receipt_code, keys=secret_store.receipt_code_keys)

    assert again == first


def test_someone_else_redeeming_a_used_code_is_410_and_takes_nothing(store):
    sold = sell(store)
    pat, sam = person("pat"), person("sam")
    receipts.redeem_receipt(store, pat, sold.receipt_code, keys=secret_store.receipt_code_keys)

    with pytest.raises(Gone) as raised:
        receipts.redeem_receipt(store, sam, sold.receipt_code, keys=secret_store.receipt_code_keys)

    assert raised.value.message == receipts.USED
    assert history_ids(store, pat)[0] == [sold.order.order_id]
    assert store.profile_id_of_user_in_org(store.user_id_for_subject(sam.subject), ORG) is None


def test_a_code_redeems_in_its_own_org_only(store):
    pat = person()
    buy(store, pat, "org-other")
    sold = sell(store)
    user_id = store.user_id_for_subject(pat.subject)
    other = store.profile_id_of_user_in_org(user_id, "org-other")

    answer = receipts.redeem_receipt(store, pat, sold.receipt_code, keys=secret_store.receipt_code_keys)
    run_stream(store)

    assert answer.org_id == ORG and answer.profile_created and answer.profile_id != other
    assert len(store.profile_with_children("org-other", other)[1]) == 1  # its own order only
    assert history_ids(store, pat, "org-other")[0] != [sold.order.order_id]
    assert history_ids(store, pat, ORG)[0] == [sold.order.order_id]


# --- the rate limit -----------------------------------------------------------------------------------------
def test_failed_attempts_are_limited_per_user_even_for_a_right_code_then_reset(store):
    sold = sell(store)
    pat, sam = person("pat"), person("sam")
    clock = 1_800_000_000.0  # 15-minute windows start at multiples of 900 s
    for _ in range(receipts.MAX_FAILED_ATTEMPTS):
        with pytest.raises(NotFound):
            receipts.redeem_receipt(
                store, pat, receipt_codes.new_receipt_code(), clock=clock, keys=secret_store.receipt_code_keys
            )

    with pytest.raises(TooManyAttempts) as raised:
        receipts.redeem_receipt(store, pat, sold.receipt_code, clock=clock + 60, keys=secret_store.receipt_code_keys)

    assert raised.value.retry_after_seconds == receipts.ATTEMPT_WINDOW_SECONDS - 60
    assert store.get_profile(ORG, sold.profile.profile_id).user_id is None  # the right code did nothing
    with pytest.raises(NotFound):  # another user has attempts of their own
        receipts.redeem_receipt(
            store, sam, receipt_codes.new_receipt_code(), clock=clock, keys=secret_store.receipt_code_keys
        )
    answer = receipts.redeem_receipt(
        store,
        pat,
        sold.receipt_code,
        clock=clock + receipts.ATTEMPT_WINDOW_SECONDS,
        keys=secret_store.receipt_code_keys,
    )
    assert answer.profile_created


def test_successes_do_not_count_as_failures(store):
    pat = person()
    clock = 1_800_000_000.0
    for _ in range(receipts.MAX_FAILED_ATTEMPTS + 2):
        sold = sell(store)
        receipts.redeem_receipt(store, pat, sold.receipt_code, clock=clock, keys=secret_store.receipt_code_keys)
        run_stream(store)


# --- over HTTP (the handler) ----------------------------------------------------------------------------------
def redeem_event(principal, code):
    event = api_event("app-api-post-claim.json", principal=principal)
    event.update(resource="/v1/receipts/{code}", path=f"/v1/receipts/{code}", pathParameters={"code": code})
    event["requestContext"]["resourcePath"] = "/v1/receipts/{code}"
    event["requestContext"]["path"] = f"/dev/v1/receipts/{code}"
    return event


def call(event):
    response = app_api.handler(event, FakeContext())
    return response["statusCode"], json.loads(response["body"]), response.get("multiValueHeaders") or {}


@pytest.mark.usefixtures("reset_handler_caches")
def test_the_route_answers_each_outcome_in_the_error_shape(store):
    sold = sell(store)
    pat, sam = person("pat"), person("sam")
    typo = sold.receipt_code[:-1] + ("0" if sold.receipt_code[-1] != "0" else "1")

    mistyped = call(redeem_event(pat, typo))
    unknown = call(redeem_event(pat, receipt_codes.new_receipt_code()))
    too_long = call(redeem_event(pat, "A" * 65))
    redeemed = call(redeem_event(pat, sold.receipt_code))
    retried = call(redeem_event(pat, sold.receipt_code.lower()))
    taken = call(redeem_event(sam, sold.receipt_code))

    assert mistyped[0] == 422 and mistyped[1]["error"]["code"] == "receipt_code_mistyped"
    assert mistyped[1]["error"]["field"] == "code"
    assert unknown[0] == 404 and unknown[1]["error"]["message"] == receipts.UNKNOWN
    assert too_long[0] == 422 and "error" in too_long[1]
    assert redeemed[0] == 200 and redeemed[1]["order_id"] == sold.order.order_id
    assert retried[0:2] == (200, redeemed[1])
    assert taken[0] == 410 and taken[1]["error"]["code"] == "gone"


@pytest.mark.usefixtures("reset_handler_caches")
def test_the_route_answers_429_with_retry_after_over_the_limit(store):
    pat = person()
    statuses = [call(redeem_event(pat, receipt_codes.new_receipt_code()))[0] for _ in range(11)]

    status, body, headers = call(redeem_event(pat, receipt_codes.new_receipt_code()))

    assert statuses == [404] * 10 + [429]
    assert status == 429 and body["error"]["code"] == "too_many_attempts"
    retry_after = int(headers["Retry-After"][0])
    assert 1 <= retry_after <= receipts.ATTEMPT_WINDOW_SECONDS


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(typed=st.text(max_size=80))
def test_no_input_is_a_5xx(store, typed):
    with contextlib.suppress(InvalidInput, NotFound, TooManyAttempts):  # anything else fails the test
        receipts.redeem_receipt(store, person(), typed, keys=secret_store.receipt_code_keys)
