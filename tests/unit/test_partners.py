"""Reseller webhooks and claims on moto, signed by the reference `standardwebhooks` library as the partner."""

import base64
import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from standardwebhooks import Webhook

import partner_webhooks
import signed_messages
from customer_profiles.data.changes import read_change
from customer_profiles.data.codec import pending_to_item
from customer_profiles.domain.claims import claim_tokens, claims
from customer_profiles.domain.effects.stream import handle_change
from customer_profiles.domain.identity import users
from customer_profiles.edge.secrets import claim_token_key
from customer_profiles.errors import Conflict, Forbidden, Gone, InvalidInput, NotFound, Unauthenticated
from customer_profiles.models.domain import Partner
from linker import claim_links
from tests.unit.conftest import FakeContext, api_event, user_principal

PARTNER = "resale-co"
ORG = "org-arena"


def new_secret() -> str:
    return "whsec_" + base64.b64encode(os.urandom(32)).decode()


@pytest.fixture
def secret(store, tmp_path: Path) -> str:
    value = new_secret()
    (tmp_path / "partner-secrets.json").write_text(json.dumps({PARTNER: [value]}))
    store.put_partner(Partner(partner_id=PARTNER, display_name="Resale Co", org_ids=[ORG]), "2026-01-01T00:00:00Z")
    return value


def order_body(**changes) -> str:
    body = {
        "org_id": ORG,
        "external_order_id": "rc-1001",
        "currency": "EUR",
        "buyer": {"email": "Buyer@Example.com", "given_name": "Bo"},
        "lines": [{"kind": "ticket", "item_id": "ev-final", "quantity": 2, "unit_price": 9900}],
    }
    body.update(changes)
    return json.dumps(body)


def signed(secret: str, body: str, webhook_id: str = "msg_1", when: datetime | None = None) -> dict[str, str]:
    when = when or datetime.now(UTC)
    signature = Webhook(secret).sign(webhook_id, when, body)
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(when.timestamp())),
        "webhook-signature": signature,
        "content-type": "application/json",
    }


def accept(store, headers, body):
    return signed_messages.receive(store, PARTNER, headers, body, claim_days=30)


def test_a_signed_order_creates_a_dormant_buyer_pending_entitlements_and_a_claim(store, secret):
    body = order_body()

    answer, outcome = accept(store, signed(secret, body), body)

    assert outcome == "created" and answer["entitlements"] == 2
    holding = store.identifier_holders([("email", "buyer@example.com")])[("email", "buyer@example.com")]
    assert holding.provenance == "partner_asserted"
    holder = holding.user_id
    assert store.get_user(holder).status == "dormant"
    profile_id = store.profile_id_of_user_in_org(holder, ORG)
    _, orders, entitlements = store.profile_with_children(ORG, profile_id)
    assert [o.order_id for o in orders] == [answer["order_id"]] and orders[0].channel == "partner"
    assert {e.status for e in entitlements} == {"pending_claim"}


def test_redeliveries_create_one_order_and_answer_the_same(store, secret):
    body = order_body()
    first, _ = accept(store, signed(secret, body), body)

    again, outcome = accept(store, signed(secret, body), body)

    assert outcome == "redelivered" and again == first


def test_the_same_webhook_id_with_another_body_is_refused(store, secret):
    accept(store, signed(secret, order_body()), order_body())
    other = order_body(currency="USD")

    with pytest.raises(Conflict):
        accept(store, signed(secret, other), other)


def test_any_active_secret_verifies_during_a_rotation(store, secret, tmp_path):
    rotated = new_secret()
    (tmp_path / "partner-secrets.json").write_text(json.dumps({PARTNER: [rotated, secret]}))
    body_old, body_new = order_body(), order_body(external_order_id="rc-2")

    accept(store, signed(secret, body_old, "msg_old"), body_old)
    accept(store, signed(rotated, body_new, "msg_new"), body_new)

    (tmp_path / "partner-secrets.json").write_text(json.dumps({PARTNER: [rotated]}))  # old one retired
    with pytest.raises(Unauthenticated):
        retired = order_body(external_order_id="rc-3")
        accept(store, signed(secret, retired, "msg_late"), retired)


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda h, b: (h, b.replace("9900", "1")), id="tampered-body"),
        pytest.param(lambda h, b: ({**h, "webhook-id": "msg_other"}, b), id="tampered-id"),
        pytest.param(
            lambda h, b: ({**h, "webhook-timestamp": str(int(h["webhook-timestamp"]) + 1)}, b), id="tampered-timestamp"
        ),
        pytest.param(lambda h, b: ({k: v for k, v in h.items() if k != "webhook-signature"}, b), id="no-signature"),
        pytest.param(lambda h, b: ({k: v for k, v in h.items() if k != "webhook-id"}, b), id="no-id"),
        pytest.param(lambda h, b: ({k: v for k, v in h.items() if k != "webhook-timestamp"}, b), id="no-timestamp"),
        pytest.param(lambda h, b: ({**h, "webhook-signature": "v1"}, b), id="malformed-signature"),
        pytest.param(lambda h, b: ({**h, "webhook-signature": "v1,!!notbase64"}, b), id="bad-base64"),
        pytest.param(lambda h, b: ({**h, "webhook-timestamp": "yesterday"}, b), id="bad-timestamp"),
    ],
)
def test_tampered_or_incomplete_deliveries_are_unauthenticated(store, secret, tamper):
    body = order_body()
    headers, sent = tamper(signed(secret, body), body)

    with pytest.raises(Unauthenticated):
        accept(store, headers, sent)


@pytest.mark.parametrize("offset", [timedelta(minutes=-6), timedelta(minutes=6)], ids=["stale", "future"])
def test_timestamps_beyond_five_minutes_either_way_are_refused(store, secret, offset):
    body = order_body()

    with pytest.raises(Unauthenticated):
        accept(store, signed(secret, body, when=datetime.now(UTC) + offset), body)


def test_timestamps_within_tolerance_are_accepted(store, secret):
    body = order_body()

    answer, _ = accept(store, signed(secret, body, when=datetime.now(UTC) - timedelta(minutes=4)), body)

    assert answer["order_id"]


def test_an_unknown_partner_is_unauthenticated(store, secret):
    body = order_body()

    with pytest.raises(Unauthenticated):
        signed_messages.receive(store, "someone-else", signed(secret, body), body, claim_days=30)


def test_a_disallowed_org_is_forbidden(store, secret):
    body = order_body(org_id="org-not-theirs")

    with pytest.raises(Forbidden):
        accept(store, signed(secret, body), body)


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        "[]",
        order_body(lines=[]),
        order_body(buyer={"given_name": "NoContact"}),
        order_body(buyer={"email": "bad@"}),
        order_body(currency=5),
        order_body(lines=[{"kind": "ticket", "item_id": "ev", "quantity": 10, "unit_price": 1}] * 5),
    ],
)
def test_malformed_orders_are_invalid_input(store, secret, body):
    with pytest.raises(InvalidInput):
        accept(store, signed(secret, body), body)


# --- claims ----------------------------------------------------------------------------------------------
def claim_token_for(store, secret, body=None, webhook_id="msg_claim", **changes):
    body = body or order_body(**changes)
    accept(store, signed(secret, body, webhook_id), body)
    claim_items = store.db.table.scan()["Items"]  # test-only: find the claim we just wrote
    claim = next(
        i
        for i in claim_items
        if i.get("type") == "claim"
        and i["created_at"]
        and i["order_id"] == store.earlier_deliveries(PARTNER, webhook_id, None)[0]["response"]["order_id"]
    )
    return claim_tokens.claim_token(claim["claim_id"], claim_token_key()), claim


def test_the_claim_notification_is_a_pending_effect_written_with_the_order(store, secret):
    token, _ = claim_token_for(store, secret)
    (pending,) = [e for e in store.all_pending() if e.kind == "notify_claim"]
    published = []

    change = read_change("INSERT", None, pending_to_item(pending))
    assert handle_change(store, change, published.extend, links=claim_links())

    (event,) = published
    assert store.all_pending() == [] or all(e.kind != "notify_claim" for e in store.all_pending())
    assert event.detail_type == "ClaimNotificationRequested"
    assert event.detail["email"] == "buyer@example.com"
    assert event.detail["claim_url"].endswith(token)


def test_the_table_keeps_only_the_tokens_hash(store, secret):
    token, _ = claim_token_for(store, secret)

    stored = json.dumps(store.db.table.scan()["Items"], default=str)
    assert token not in stored
    assert claim_tokens.token_hash(token) in stored


def test_a_forwarded_claim_activates_the_entitlements_under_the_claimers_profile(store, secret):
    token, claim_item = claim_token_for(store, secret)
    friend = user_principal(email="friend@example.com", email_verified=True)

    result = claims.claim_entitlements(store, friend, token)

    friend_id = users.current_user_id(store, friend)
    assert {e.status for e in result.entitlements} == {"active"}
    assert result.profile_id == store.profile_id_of_user_in_org(friend_id, ORG)
    _, _, left_behind = store.profile_with_children(ORG, claim_item["profile_id"])
    assert left_behind == []  # moved, not copied: each entitlement keeps one parent


def test_a_claim_is_single_use(store, secret):
    token, _ = claim_token_for(store, secret)
    claims.claim_entitlements(store, user_principal(), token)

    with pytest.raises(Gone):
        claims.claim_entitlements(store, user_principal(), token)


def test_an_unknown_token_is_not_found(store):
    with pytest.raises(NotFound):
        claims.claim_entitlements(store, user_principal(), "x" * 43)


def test_an_expired_claim_is_gone(store, secret):
    body = order_body()
    signed_messages.receive(store, PARTNER, signed(secret, body, "msg_exp"), body, claim_days=0)
    token, _ = claim_token_for(store, secret, body=body, webhook_id="msg_exp")

    with pytest.raises(Gone):
        claims.claim_entitlements(store, user_principal(), token)


def test_a_claim_by_the_buyer_activates_their_dormant_account_and_the_entitlements_in_place(store, secret):
    token, claim_item = claim_token_for(store, secret)
    buyer = user_principal(email="buyer@example.com", email_verified=True)

    result = claims.claim_entitlements(store, buyer, token)

    assert result.profile_id == claim_item["profile_id"]
    assert store.get_user(users.current_user_id(store, buyer)).status == "active"
    assert {e.status for e in result.entitlements} == {"active"}


# --- the handler ---------------------------------------------------------------------------------------------
@pytest.mark.usefixtures("reset_handler_caches")
def test_the_webhook_route_answers_201_then_200_for_a_redelivery(secret):
    event = api_event("partner-webhooks-post-order.json")
    body = order_body()
    event["body"] = body
    event["headers"] = signed(secret, body, "msg_http")
    event["multiValueHeaders"] = {k: [v] for k, v in event["headers"].items()}
    event["pathParameters"] = {"partner_id": PARTNER}
    event["path"] = f"/v1/partners/{PARTNER}/orders"

    first = partner_webhooks.handler(event, FakeContext())
    again = partner_webhooks.handler(event, FakeContext())

    assert (first["statusCode"], again["statusCode"]) == (201, 200)
    assert json.loads(first["body"]) == json.loads(again["body"])


@pytest.mark.usefixtures("reset_handler_caches")
def test_a_bad_signature_on_the_route_is_a_json_401(secret):
    event = api_event("partner-webhooks-post-order.json")
    event["pathParameters"] = {"partner_id": PARTNER}
    event["path"] = f"/v1/partners/{PARTNER}/orders"

    response = partner_webhooks.handler(event, FakeContext())

    assert response["statusCode"] == 401
    assert json.loads(response["body"])["error"]["code"] == "invalid_signature"
