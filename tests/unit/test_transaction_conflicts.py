"""DynamoDB cancels transactions that race (TransactionConflict); moto and DynamoDB Local never do (PITFALLS).

A botocore hook answers the first TransactWriteItems with that cancellation, as DynamoDB would: the
operation tries again and writes exactly once.
"""

import json
from types import SimpleNamespace

import pytest

from customer_profiles.domain.identity import users
from customer_profiles.domain.sales import orders, pos
from customer_profiles.errors import TryAgain
from customer_profiles.models.api import OrderRequest, PosSaleRequest
from local_runtime.chaos import transaction_conflict
from tests.unit.conftest import FakeContext, api_event, staff_principal, user_principal

LINES = [{"kind": "ticket", "item_id": "ev-1", "quantity": 1, "unit_price": 100}]


def cancel_transactions(store, times: int) -> dict[str, int]:
    seen = {"cancelled": 0}

    def conflict(**_):
        if seen["cancelled"] >= times:
            return None
        seen["cancelled"] += 1
        return transaction_conflict()

    store.db.client.meta.events.register("before-call.dynamodb.TransactWriteItems", conflict)
    return seen


def test_a_purchase_that_meets_a_transaction_conflict_is_retried_and_written_once(store):
    principal = user_principal()
    users.register_me(store, principal)
    order = OrderRequest.model_validate({"currency": "EUR", "payment_method": "card", "lines": LINES})
    orders.place_consumer_order(store, principal, "org-a", order)  # the profile exists
    seen = cancel_transactions(store, times=1)

    placed = orders.place_consumer_order(store, principal, "org-a", order)

    assert seen["cancelled"] == 1
    _, stored_orders, _ = store.profile_with_children("org-a", placed.order.profile_id)
    assert len(stored_orders) == 2


def test_a_purchase_that_keeps_conflicting_asks_for_a_retry_and_writes_nothing(store):
    principal = user_principal()
    users.register_me(store, principal)
    order = OrderRequest.model_validate({"currency": "EUR", "payment_method": "card", "lines": LINES})
    first = orders.place_consumer_order(store, principal, "org-a", order)
    cancel_transactions(store, times=99)

    with pytest.raises(TryAgain):
        orders.place_consumer_order(store, principal, "org-a", order)

    assert len(store.profile_with_children("org-a", first.order.profile_id)[1]) == 1


def test_a_sale_that_meets_a_transaction_conflict_creates_one_dormant_user(store):
    seller = staff_principal("till", "org-a", "pos")
    request = PosSaleRequest.model_validate(
        {"currency": "EUR", "payment_method": "cash", "lines": LINES, "customer": {"email": "race@example.com"}}
    )
    seen = cancel_transactions(store, times=1)

    sale = pos.create_pos_sale(store, seller, "org-a", request)

    assert seen["cancelled"] == 1
    holder = store.identifier_holders([("email", "race@example.com")])[("email", "race@example.com")].user_id
    assert store.get_profile("org-a", sale.profile.profile_id).user_id == holder
    assert len(store.profile_with_children("org-a", sale.profile.profile_id)[1]) == 1


def test_a_registration_that_meets_a_transaction_conflict_is_retried(store):
    seen = cancel_transactions(store, times=1)

    user, created = users.register_me(store, user_principal(email="r@example.com", email_verified=True))

    assert seen["cancelled"] == 1 and created
    assert store.get_user(user.user_id) == user


def throttled(code: str, reasons: list[str] | None = None):
    """DynamoDB's answer under load, as a botocore `before-call` hook returns it."""
    body = {"Error": {"Code": code, "Message": "throughput exceeded"}, "ResponseMetadata": {"HTTPStatusCode": 400}}
    if reasons:
        body["CancellationReasons"] = [{"Code": r} for r in reasons]
    return lambda **_: (SimpleNamespace(status_code=400, headers={}, text=""), body)


@pytest.mark.usefixtures("reset_handler_caches")
def test_a_throttled_transaction_is_a_429_with_retry_after_never_a_5xx(store):
    import org_api

    org_api.store().db.client.meta.events.register(
        "before-call.dynamodb.TransactWriteItems",
        throttled("TransactionCanceledException", ["ThrottlingError", "None", "None"]),
    )

    response = org_api.handler(api_event("org-api-post-pos-sale.json"), FakeContext())

    assert response["statusCode"] == 429, response["body"]
    assert response["multiValueHeaders"]["Retry-After"] == ["1"]
    assert json.loads(response["body"])["error"]["code"] == "throttled"


@pytest.mark.usefixtures("reset_handler_caches")
def test_a_throttled_read_is_a_429_with_retry_after(store):
    import app_api

    app_api.handler(api_event("app-api-put-me.json"), FakeContext())
    app_api.store().db.client.meta.events.register(
        "before-call.dynamodb.GetItem", throttled("ProvisionedThroughputExceededException")
    )

    response = app_api.handler(api_event("app-api-get-me.json"), FakeContext())

    assert (response["statusCode"], response["multiValueHeaders"]["Retry-After"]) == (429, ["1"])


@pytest.mark.parametrize("kind", ["purchase", "sale"])
def test_two_requests_racing_under_one_key_write_once_and_answer_the_same(store, kind):
    """Both read no answer; the second commits first; the first's transaction then fails on the answer's
    condition, reads again and replays the second's answer: one order, one answer."""
    from customer_profiles.domain.idempotency import under_key

    if kind == "purchase":
        principal = user_principal(email="race@example.com", email_verified=True)
        users.register_me(store, principal)
        request = OrderRequest.model_validate({"currency": "EUR", "payment_method": "card", "lines": LINES})
        once = under_key("place_consumer_order", caller="user:x", key="k", payload={"o": 1})
        earlier = orders.place_consumer_order(store, principal, "org-a", request)  # the profile exists: only
        # the answer's condition can keep the race from writing twice

        def send():
            return orders.place_consumer_order(store, principal, "org-a", request, once)
    else:
        seller = staff_principal("till", "org-a", "pos")
        request = PosSaleRequest.model_validate(
            {"currency": "EUR", "payment_method": "cash", "lines": LINES, "customer": {"email": "r@example.com"}}
        )
        once = under_key("create_pos_sale", caller="staff:org-a:till", key="k", payload={"s": 1})
        earlier = pos.create_pos_sale(store, seller, "org-a", request)  # a known customer by now

        def send():
            return pos.create_pos_sale(store, seller, "org-a", request, once)

    overtaken: list = []

    def the_other_commits_first(**_):
        if not overtaken:
            overtaken.append(None)
            overtaken.append(send())  # the racing request, start to end, before this transaction lands

    store.db.client.meta.events.register("before-call.dynamodb.TransactWriteItems", the_other_commits_first)
    first = send()

    assert first == overtaken[1]
    profile_id = first.profile.profile_id if kind == "sale" else first.order.profile_id
    _, placed, _ = store.profile_with_children("org-a", profile_id)
    assert sorted(o.order_id for o in placed) == sorted([first.order.order_id, earlier.order.order_id])


def test_an_expired_answer_is_no_answer():
    from customer_profiles.data.requests import answered_from

    item = {"expiration": 1_000, "payload_sha256": "h", "answer": "{}"}

    assert answered_from([item], now=999) is not None
    assert answered_from([item], now=1_000) is None
