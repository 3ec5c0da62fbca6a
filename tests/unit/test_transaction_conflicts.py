"""DynamoDB cancels transactions that race (TransactionConflict); moto and DynamoDB Local never do (PITFALLS).

A botocore hook answers the first TransactWriteItems with that cancellation, as DynamoDB would: the
operation tries again and writes exactly once.
"""

import pytest

from customer_profiles.domain import orders, pos, users
from customer_profiles.errors import TryAgain
from customer_profiles.models.api import OrderRequest, PosSaleRequest
from local_runtime.chaos import transaction_conflict
from tests.unit.conftest import staff_principal, user_principal

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
