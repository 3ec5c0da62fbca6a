"""DynamoDB requests per route, counted by a botocore hook on every client the handlers make: in AWS each one
is a network round trip and a bill line, so the counts are part of the contract (docs/decisions.md, 15)."""

import json
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace

import botocore.session
import pytest

import app_api
import org_api
from tests.unit.conftest import FakeContext, api_event, staff_principal, user_principal

pytestmark = pytest.mark.usefixtures("aws", "reset_handler_caches")

ORG = "org-trips"
LINES = [{"kind": "ticket", "item_id": "ev-1", "quantity": 2, "unit_price": 2500}]


@pytest.fixture
def requests(monkeypatch: pytest.MonkeyPatch) -> Iterator[Counter[str]]:
    """Every DynamoDB operation any client sends, by name (a `before-call` hook on each client made)."""
    counted: Counter[str] = Counter()
    create_client = botocore.session.Session.create_client

    def counting_client(self, service_name, *args, **kwargs):
        client = create_client(self, service_name, *args, **kwargs)
        if service_name == "dynamodb":
            client.meta.events.register("before-call.dynamodb", lambda model, **_: counted.update([model.name]))
        return client

    monkeypatch.setattr(botocore.session.Session, "create_client", counting_client)
    yield counted


def call(module, event) -> tuple[int, dict]:
    response = module.handler(event, FakeContext())
    return response["statusCode"], json.loads(response["body"])


def authorized(principal, user_id: str):
    """The principal as the authorizer hands it over, with the platform user id it resolved."""
    return replace(principal, user_id=user_id)


def order_event(principal, key: str, org_id: str = ORG) -> dict:
    body = {"currency": "EUR", "payment_method": "card", "lines": LINES}
    event = api_event("app-api-post-order.json", principal=principal, body=json.dumps(body))
    event["pathParameters"] = {"org_id": org_id}
    event["path"] = event["path"].replace(event["path"].split("/")[3], org_id)
    event["headers"] = {**event["headers"], "Idempotency-Key": key}
    return event


def registered(email: str | None = None):
    principal = user_principal(email=email or f"{uuid.uuid4().hex[:8]}@example.com", email_verified=True)
    status, me = call(app_api, api_event("app-api-put-me.json", principal=principal))
    assert status == 201
    return authorized(principal, me["user_id"])


def measured(requests: Counter[str], action) -> tuple[int, Counter[str]]:
    requests.clear()
    result = action()
    return result, Counter(requests)


def test_a_repeat_purchase_is_one_read_and_one_transaction_and_its_replay_one_read(requests):
    buyer = registered()
    assert call(app_api, order_event(buyer, "first"))[0] == 201

    (status, _), repeat = measured(requests, lambda: call(app_api, order_event(buyer, "second")))
    (replay_status, _), replay = measured(requests, lambda: call(app_api, order_event(buyer, "second")))

    assert status == 201 and repeat.total() <= 2 and repeat["TransactWriteItems"] == 1, repeat
    assert replay_status == 201 and replay.total() == 1 and "TransactWriteItems" not in replay, replay


def test_a_first_purchase_at_an_org_is_at_most_three_requests(requests):
    buyer = registered()

    (status, body), first = measured(requests, lambda: call(app_api, order_event(buyer, "k")))

    assert status == 201 and body["profile_created"] is True
    assert first.total() <= 3, first


def test_without_the_authorizers_user_id_a_purchase_falls_back_to_the_lookup(requests):
    buyer = registered()
    anonymous_to_the_authorizer = authorized(buyer, "")

    (status, _), counted = measured(requests, lambda: call(app_api, order_event(anonymous_to_the_authorizer, "k")))

    assert status == 201 and counted["GetItem"] == 1, counted


def test_a_sale_to_a_known_customer_is_at_most_three_requests(requests):
    seller = staff_principal("till", ORG, "pos")
    body = {"currency": "EUR", "payment_method": "cash", "lines": LINES, "customer": {"email": "kim@example.com"}}

    def sell(key: str):
        event = api_event("org-api-post-pos-sale.json", principal=seller, body=json.dumps(body))
        event["pathParameters"] = {"org_id": ORG}
        event["path"] = f"/v1/orgs/{ORG}/pos/sales"
        event["headers"] = {**event["headers"], "Idempotency-Key": key}
        return call(org_api, event)

    assert sell("first")[0] == 201
    (status, _), known = measured(requests, lambda: sell("second"))
    (replay_status, _), replay = measured(requests, lambda: sell("second"))

    assert status == 201 and known.total() <= 3, known
    assert replay_status == 201 and replay.total() == 1, replay


@pytest.mark.parametrize("route", ["app-api-get-me.json", "app-api-get-my-history.json"])
def test_me_and_a_history_page_are_one_request(requests, route):
    buyer = registered()
    call(app_api, order_event(buyer, "k"))

    (status, _), counted = measured(requests, lambda: call(app_api, api_event(route, principal=buyer)))

    assert status == 200 and counted.total() == 1, counted
