"""Issue 14, on moto: a partner order exactly once by (partner, external_order_id) whatever the webhook-id,
claims a buyer sees and accepts without the link, and a retried claim answered with the first answer."""

import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import signed_messages
from customer_profiles.domain.claims import claims
from customer_profiles.edge.secrets import claim_token_key
from customer_profiles.errors import ConcurrentWrite, Gone, InvalidInput, NotFound, StateConflict
from tests.unit import test_partners
from tests.unit.conftest import user_principal
from tests.unit.test_partners import PARTNER, accept, claim_token_for, order_body, signed

secret = test_partners.secret  # the partner and its signing secret, as a fixture


def orders_in_table(store) -> list[dict]:
    return [i for i in store.db.table.scan()["Items"] if i.get("type") == "order"]


def claims_in_table(store) -> list[dict]:
    return [i for i in store.db.table.scan()["Items"] if i.get("type") == "claim"]


# --- exactly once by the partner's order id -------------------------------------------------------------------
def test_the_same_order_under_a_new_webhook_id_is_recorded_once_and_answered_the_same(store, secret):
    body = order_body(external_order_id="rc-7")

    first, first_outcome = accept(store, signed(secret, body, "msg_a"), body)
    again, outcome = accept(store, signed(secret, body, "msg_b"), body)

    assert (first_outcome, outcome) == ("created", "redelivered")
    assert again == first
    assert len(orders_in_table(store)) == 1 and len(claims_in_table(store)) == 1


def test_the_same_order_reformatted_is_the_same_order(store, secret):
    body = order_body(external_order_id="rc-8")
    spaced = body.replace(",", ", ")

    first, _ = accept(store, signed(secret, body, "msg_a"), body)
    again, outcome = accept(store, signed(secret, spaced, "msg_b"), spaced)

    assert outcome == "redelivered" and again == first


def test_another_order_under_a_known_external_order_id_is_a_conflict(store, secret):
    accept(store, signed(secret, order_body(external_order_id="rc-9"), "msg_a"), order_body(external_order_id="rc-9"))
    other = order_body(external_order_id="rc-9", currency="USD")

    with pytest.raises(StateConflict) as raised:
        accept(store, signed(secret, other, "msg_b"), other)

    assert raised.value.field == "external_order_id"
    assert len(orders_in_table(store)) == 1


def test_orders_without_an_external_id_are_told_apart_by_webhook_id_only(store, secret):
    body = order_body(external_order_id=None)

    accept(store, signed(secret, body, "msg_a"), body)
    accept(store, signed(secret, body, "msg_b"), body)

    assert len(orders_in_table(store)) == 2


def test_a_racing_delivery_that_read_nothing_loses_on_the_transaction_and_replays_the_winner(
    store, secret, monkeypatch
):
    """Two deliveries of one order under two webhook-ids, both reading before either wrote (what a
    concurrent pair does in AWS): the second's transaction fails on the order's item and its retry answers
    the first answer."""
    body = order_body(external_order_id="rc-race")
    first, _ = accept(store, signed(secret, body, "msg_a"), body)
    real = store.earlier_deliveries
    reads = []

    def stale_once(*args):
        reads.append(args)
        return (None, None) if len(reads) == 1 else real(*args)

    monkeypatch.setattr(store, "earlier_deliveries", stale_once)

    again, outcome = accept(store, signed(secret, body, "msg_b"), body)

    assert len(reads) == 2 and outcome == "redelivered" and again == first
    assert len(orders_in_table(store)) == 1


# --- a retried claim ------------------------------------------------------------------------------------------
def test_a_retried_claim_by_the_claimer_answers_the_first_answer_and_anyone_else_gets_410(store, secret):
    token, _ = claim_token_for(store, secret)
    claimer = user_principal(email="friend@example.com", email_verified=True)
    first = claims.claim_entitlements(store, claimer, token)

    again = claims.claim_entitlements(store, claimer, token)

    assert again == first
    with pytest.raises(Gone):
        claims.claim_entitlements(store, user_principal(), token)


def test_a_claim_retried_while_the_first_is_writing_answers_the_first_answer(store, secret, monkeypatch):
    """The retry read the claim open, then lost the transaction to the first attempt: it reads again and
    answers what the first one did."""
    token, _ = claim_token_for(store, secret)
    claimer = user_principal(email="friend@example.com", email_verified=True)
    first = claims.claim_entitlements(store, claimer, token)
    real_get = store.get_claim
    calls = []

    def open_twice(hashed):  # both reads before the first attempt's transaction landed
        calls.append(hashed)
        claim = real_get(hashed)
        return claim if len(calls) > 2 else claim.model_copy(update={"status": "open"})

    monkeypatch.setattr(store, "get_claim", open_twice)

    assert claims.claim_entitlements(store, claimer, token) == first
    assert len(calls) == 3


# --- claims a person can see ----------------------------------------------------------------------------------
def buyer_order(store, secret, email=None, phone=None):
    buyer = {"given_name": "Bo", **({"email": email} if email else {}), **({"phone": phone} if phone else {})}
    body = order_body(buyer=buyer, external_order_id=uuid.uuid4().hex)
    answer, _ = accept(store, signed(secret, body, uuid.uuid4().hex), body)
    return answer["order_id"]


def test_the_buyer_who_verified_the_email_sees_the_claim_and_accepts_it_without_the_link(store, secret):
    order_id = buyer_order(store, secret, email="Buyer@Example.com")
    buyer = user_principal(email="buyer@example.com", email_verified=True)

    (listed,) = claims.open_claims_of_me(store, buyer, limit=10, cursor=None).claims
    accepted = claims.accept_claim(store, buyer, listed.claim_id, claim_token_key())

    assert listed.order_id == order_id and listed.addressed_to == ["email"] and listed.entitlements == 2
    assert {e.status for e in accepted.entitlements} == {"active"}
    assert claims.open_claims_of_me(store, buyer, limit=10, cursor=None).claims == []
    assert claims.accept_claim(store, buyer, listed.claim_id, claim_token_key()) == accepted  # a retry


@pytest.mark.parametrize(
    "who",
    [
        user_principal(email="buyer@example.com", email_verified=False),  # typed, not proved
        user_principal(email="someone@example.com", email_verified=True),
        user_principal(),
    ],
)
def test_nobody_else_sees_or_accepts_the_claim(store, secret, who):
    buyer_order(store, secret, email="buyer@example.com")
    (claim,) = claims_in_table(store)

    assert claims.open_claims_of_me(store, who, limit=10, cursor=None).claims == []
    with pytest.raises(NotFound):
        claims.accept_claim(store, who, claim["claim_id"], claim_token_key())


def test_an_unknown_claim_id_is_not_found(store, secret):
    buyer = user_principal(email="buyer@example.com", email_verified=True)
    with pytest.raises(NotFound):
        claims.accept_claim(store, buyer, "no-such-claim", claim_token_key())


def test_expired_claims_are_not_listed_and_cannot_be_accepted(store, secret):
    body = order_body(external_order_id="rc-old")
    signed_messages.receive(store, PARTNER, signed(secret, body, "msg_old"), body, claim_days=0)
    buyer = user_principal(email="buyer@example.com", email_verified=True)
    (claim,) = claims_in_table(store)

    assert claims.open_claims_of_me(store, buyer, limit=10, cursor=None).claims == []
    with pytest.raises(Gone):
        claims.accept_claim(store, buyer, claim["claim_id"], claim_token_key())


def test_the_listing_decides_on_the_table_not_the_index(store, secret):
    """A claim used a moment ago may still be in the (eventually consistent) index: it is not listed."""
    buyer_order(store, secret, email="buyer@example.com")
    (item,) = claims_in_table(store)
    store.db.table.update_item(
        Key={"pk": item["pk"], "sk": item["sk"]},
        UpdateExpression="SET #s = :u",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":u": "claimed"},
    )  # the index keys stay, as while the index lags
    buyer = user_principal(email="buyer@example.com", email_verified=True)

    assert claims.open_claims_of_me(store, buyer, limit=10, cursor=None).claims == []


def test_a_cursor_for_other_identifiers_is_refused(store, secret):
    for _ in range(3):
        buyer_order(store, secret, email="buyer@example.com")
    buyer = user_principal(email="buyer@example.com", email_verified=True)
    page = claims.open_claims_of_me(store, buyer, limit=1, cursor=None)
    other = user_principal(email="other@example.com", email_verified=True)

    with pytest.raises(InvalidInput):
        claims.open_claims_of_me(store, other, limit=1, cursor=page.next_cursor)
    with pytest.raises(InvalidInput):
        claims.open_claims_of_me(store, buyer, limit=1, cursor="bm90IGEgY3Vyc29y")


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    addressed=st.lists(st.sampled_from(["email", "phone", "both", "neither"]), min_size=0, max_size=7),
    used=st.sets(st.integers(min_value=0, max_value=6)),
    page_size=st.integers(min_value=1, max_value=4),
)
def test_paging_lists_every_open_claim_to_me_once_newest_first(store, secret, addressed, used, page_size):
    email, phone = f"{uuid.uuid4().hex[:10]}@example.com", f"+44791112{uuid.uuid4().int % 10_000:04d}"
    me = user_principal(email=email, email_verified=True, phone_number=phone, phone_number_verified=True)
    expected = []
    for n, to in enumerate(addressed):
        buyer_order(
            store,
            secret,
            email=email if to in ("email", "both") else (f"x{n}@example.com" if to == "neither" else None),
            phone=phone if to in ("phone", "both") else None,
        )
        if to != "neither":
            expected.append(n)
    mine = sorted(
        (i for i in claims_in_table(store) if i.get("email") == email or i.get("phone") == phone),
        key=lambda i: (i["created_at"], i["claim_id"]),
        reverse=True,
    )
    assert len(mine) == len(expected)
    taken = [c for n, c in enumerate(mine) if n in used]
    for claim in taken:
        claims.accept_claim(store, me, claim["claim_id"], claim_token_key())
    open_ids = [c["claim_id"] for c in mine if c not in taken]

    listed, cursor, pages = [], None, 0
    while True:
        page = claims.open_claims_of_me(store, me, limit=page_size, cursor=cursor)
        assert len(page.claims) <= page_size
        listed += [c.claim_id for c in page.claims]
        pages += 1
        cursor = page.next_cursor
        if cursor is None:
            break
        assert pages < 50

    assert listed == open_ids


def test_concurrent_write_errors_are_retried_not_shown(store, secret, monkeypatch):
    """A claim's transaction conflicting with a concurrent change is retried by the domain."""
    token, _ = claim_token_for(store, secret)
    real = store.use_claim
    calls = []

    def conflict_once(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise ConcurrentWrite("someone else wrote")
        return real(*args, **kwargs)

    monkeypatch.setattr(store, "use_claim", conflict_once)

    result = claims.claim_entitlements(store, user_principal(email="f@example.com", email_verified=True), token)

    assert len(calls) == 2 and {e.status for e in result.entitlements} == {"active"}
