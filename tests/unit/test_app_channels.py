"""App channels on moto: white-label registration, consumer purchases, history, and their invariants."""

import json
from collections import Counter

import pytest

import app_api
from customer_profiles.domain.identity import history, profiles, registration, users
from customer_profiles.domain.sales import orders
from customer_profiles.errors import Conflict, InvalidInput, NotFound
from customer_profiles.models.api import OrderRequest, ProfileUpdateRequest
from tests.unit.conftest import FakeContext, api_event, user_principal

ORDER = OrderRequest.model_validate(
    {
        "currency": "EUR",
        "payment_method": "card",
        "lines": [
            {"kind": "ticket", "item_id": "ev-1", "quantity": 2, "unit_price": 4500},
            {"kind": "product", "item_id": "scarf", "quantity": 1, "unit_price": 1500},
        ],
    }
)


@pytest.fixture
def registered(store):
    principal = user_principal(email="ann@example.com", email_verified=True)
    users.register_me(store, principal)
    return principal


def count_requests(store):
    counter: Counter[str] = Counter()
    store.db.client.meta.events.register("before-call.dynamodb.*", lambda model, **_: counter.update([model.name]))
    return counter


# --- white label ---------------------------------------------------------------------------------
def test_registering_through_a_white_label_client_creates_the_org_profile_seeded_from_claims(store):
    store.register_app_client("wl-app", "org-wl", "2026-01-01T00:00:00Z")
    principal = user_principal(
        client_id="wl-app",
        profile_claims=(
            ("given_name", "Bea"),
            ("family_name", "Stone"),
            ("picture", "http://insecure.example/x"),
            ("birthdate", "1990-02-03"),
        ),
    )

    result = registration.register(store, principal)

    assert result.profile is not None
    assert (result.profile.org_id, result.profile.origin, result.profile.user_id) == (
        "org-wl",
        "white_label",
        result.user.user_id,
    )
    attributes = result.profile.attributes
    assert (attributes.given_name, attributes.family_name, str(attributes.birth_date)) == ("Bea", "Stone", "1990-02-03")
    assert attributes.picture_url is None  # an invalid claim is left out, never fatal


def test_registering_again_through_the_same_client_reuses_the_profile(store):
    store.register_app_client("wl-app", "org-wl", "2026-01-01T00:00:00Z")
    principal = user_principal(client_id="wl-app")

    first = registration.register(store, principal)
    second = registration.register(store, principal)

    assert second.profile.profile_id == first.profile.profile_id


def test_an_app_client_belongs_to_one_org(store):
    store.register_app_client("wl-app", "org-wl", "2026-01-01T00:00:00Z")
    store.register_app_client("wl-app", "org-wl", "2026-01-02T00:00:00Z")  # idempotent

    with pytest.raises(Conflict):
        store.register_app_client("wl-app", "org-other", "2026-01-01T00:00:00Z")


def test_a_consumer_client_creates_no_profile(store):
    assert registration.register(store, user_principal()).profile is None


def test_editing_the_org_profile_changes_only_that_profile(store):
    store.register_app_client("wl-a", "org-a", "2026-01-01T00:00:00Z")
    principal = user_principal(client_id="wl-a", profile_claims=(("given_name", "Cai"),))
    result = registration.register(store, principal)
    orders.place_consumer_order(store, principal, "org-b", ORDER)
    user_before = store.get_user(result.user.user_id)
    other_before = profiles.user_profile_in_org(store, result.user.user_id, "org-b")

    updated = profiles.update_profile_attributes(
        result.profile,
        ProfileUpdateRequest.model_validate({"version": 1, "attributes": {"given_name": "Kai", "locale": "en-GB"}}),
        store,
    )

    assert (updated.attributes.given_name, updated.attributes.locale, updated.version) == ("Kai", "en-GB", 2)
    assert store.get_user(result.user.user_id) == user_before
    assert profiles.user_profile_in_org(store, result.user.user_id, "org-b") == other_before


def test_a_stale_update_is_a_conflict_and_loses_nothing(store, registered):
    orders.place_consumer_order(store, registered, "org-a", ORDER)
    user_id = users.current_user_id(store, registered)
    profile = profiles.user_profile_in_org(store, user_id, "org-a")
    profiles.update_profile_attributes(
        profile, ProfileUpdateRequest.model_validate({"version": 1, "attributes": {"given_name": "First"}}), store
    )

    with pytest.raises(Conflict):
        profiles.update_profile_attributes(
            profile, ProfileUpdateRequest.model_validate({"version": 1, "attributes": {"given_name": "Second"}}), store
        )

    assert profiles.user_profile_in_org(store, user_id, "org-a").attributes.given_name == "First"


def test_a_concurrent_writer_between_read_and_write_is_caught_by_the_condition(store, registered):
    orders.place_consumer_order(store, registered, "org-a", ORDER)
    user_id = users.current_user_id(store, registered)
    stale = profiles.user_profile_in_org(store, user_id, "org-a")
    fresh = stale.model_copy(update={"version": 2})
    store.replace_profile(stale, fresh)  # someone else wrote version 2 after we read version 1

    with pytest.raises(Conflict):
        store.replace_profile(stale, stale.model_copy(update={"version": 2}))


# --- consumer purchases --------------------------------------------------------------------------
def test_the_first_purchase_creates_the_profile_and_later_ones_reuse_it(store, registered):
    first = orders.place_consumer_order(store, registered, "org-a", ORDER)
    second = orders.place_consumer_order(store, registered, "org-a", ORDER)

    assert first.profile_created and not second.profile_created
    assert first.order.profile_id == second.order.profile_id
    assert len(first.entitlements) == 3
    assert {e.profile_id for e in first.entitlements} == {first.order.profile_id}
    assert first.order.total == 2 * 4500 + 1500


def test_a_purchase_needs_a_registered_user(store):
    with pytest.raises(NotFound):
        orders.place_consumer_order(store, user_principal(), "org-a", ORDER)


def test_a_failed_order_transaction_writes_nothing(store, registered):
    user_id = users.current_user_id(store, registered)
    profile_id, _ = profiles.ensure_user_profile(store, user_id, "org-a", origin="consumer")
    order, entitlements = orders.build_order(ORDER, "card", org_id="org-a", profile_id=profile_id, channel="app")

    with pytest.raises(Conflict):  # the profile does not belong to this user: the condition check fails
        store.create_order(order, entitlements, "someone-else")

    assert history.history_of_me(store, registered, org_id=None, limit=50, cursor=None).entries == []


def test_a_repeat_purchase_takes_three_requests(store, registered):
    orders.place_consumer_order(store, registered, "org-a", ORDER)
    counter = count_requests(store)

    orders.place_consumer_order(store, registered, "org-a", ORDER)

    # the subject's user (the authorizer's context has none here), the key's answer with the profile, the write
    assert counter == Counter({"GetItem": 1, "BatchGetItem": 1, "TransactWriteItems": 1})


def test_a_history_page_takes_two_requests(store, registered):
    orders.place_consumer_order(store, registered, "org-a", ORDER)
    counter = count_requests(store)

    history.history_of_me(store, registered, org_id=None, limit=10, cursor=None)

    assert counter == Counter({"GetItem": 1, "Query": 1})


# --- history ---------------------------------------------------------------------------------------
def test_history_spans_orgs_newest_first_and_pages_without_gaps(store, registered):
    placed = [orders.place_consumer_order(store, registered, org, ORDER) for org in ("org-a", "org-b", "org-a")]
    expected_ids = [e.entitlement_id for p in placed for e in p.entitlements] + [p.order.order_id for p in placed]

    seen, cursor, pages = [], None, 0
    while True:
        page = history.history_of_me(store, registered, org_id=None, limit=5, cursor=cursor)
        seen += page.entries
        pages += 1
        cursor = page.next_cursor
        if not cursor:
            break

    ids = [e.order.order_id if e.order else e.entitlement.entitlement_id for e in seen]
    assert sorted(ids) == sorted(expected_ids) and len(ids) == len(set(ids))
    assert pages >= 3
    times = [e.created_at for e in seen]
    assert times == sorted(times, reverse=True)


def test_history_for_one_org_holds_only_that_org(store, registered):
    orders.place_consumer_order(store, registered, "org-a", ORDER)
    orders.place_consumer_order(store, registered, "org-b", ORDER)

    page = history.history_of_me(store, registered, org_id="org-b", limit=50, cursor=None)

    assert {e.org_id for e in page.entries} == {"org-b"}
    assert len(page.entries) == 4


def test_another_users_cursor_is_refused(store, registered):
    for _ in range(3):
        orders.place_consumer_order(store, registered, "org-a", ORDER)
    cursor = history.history_of_me(store, registered, org_id=None, limit=2, cursor=None).next_cursor
    mallory = user_principal()
    users.register_me(store, mallory)

    with pytest.raises(InvalidInput):
        history.history_of_me(store, mallory, org_id=None, limit=2, cursor=cursor)


def test_profiles_of_me_lists_every_org(store, registered):
    for org in ("org-a", "org-b", "org-c"):
        orders.place_consumer_order(store, registered, org, ORDER)

    listing = history.profiles_of_me(store, registered, limit=50, cursor=None)

    assert sorted(p.org_id for p in listing.profiles) == ["org-a", "org-b", "org-c"]
    assert {p.origin for p in listing.profiles} == {"consumer"}


# --- isolation ------------------------------------------------------------------------------------
def test_another_users_org_is_404_for_me(store, registered):
    orders.place_consumer_order(store, registered, "org-a", ORDER)
    other = user_principal()
    users.register_me(store, other)

    with pytest.raises(NotFound):
        profiles.user_profile_in_org(store, users.current_user_id(store, other), "org-a")
    assert history.history_of_me(store, other, org_id=None, limit=50, cursor=None).entries == []


# --- the handler: idempotency and validation --------------------------------------------------------
ORDER_BODY = {
    "currency": "EUR",
    "payment_method": "card",
    "lines": [{"kind": "ticket", "item_id": "ev-9", "quantity": 1, "unit_price": 2000}],
}


def order_event(principal, body, key="key-1", org_id="org-a"):
    event = api_event("app-api-post-order.json", principal=principal)
    event["path"] = f"/v1/orgs/{org_id}/orders"
    event["pathParameters"] = {"org_id": org_id}
    event["body"] = json.dumps(body)
    if key is None:
        event["headers"].pop("Idempotency-Key", None)
        event["multiValueHeaders"].pop("Idempotency-Key", None)
    else:
        event["headers"]["Idempotency-Key"] = key
        event["multiValueHeaders"]["Idempotency-Key"] = [key]
    return event


def call(event):
    response = app_api.handler(event, FakeContext())
    return response["statusCode"], json.loads(response["body"])


@pytest.mark.usefixtures("reset_handler_caches")
class TestOrderRoute:
    def test_a_retry_with_the_same_key_returns_the_first_order_and_writes_nothing(self, store, registered):
        first = call(order_event(registered, ORDER_BODY))
        retry = call(order_event(registered, ORDER_BODY))

        assert first[0] == retry[0] == 201
        assert retry[1]["order"]["order_id"] == first[1]["order"]["order_id"]
        assert len(history.history_of_me(store, registered, org_id=None, limit=50, cursor=None).entries) == 2

    def test_the_same_key_with_another_body_is_refused(self, registered):
        call(order_event(registered, ORDER_BODY))

        status, body = call(order_event(registered, {**ORDER_BODY, "currency": "USD"}))

        assert (status, body["error"]["code"]) == (422, "idempotency_key_reused")

    def test_the_same_key_from_another_user_is_another_order(self, store, registered):
        other = user_principal()
        users.register_me(store, other)

        mine = call(order_event(registered, ORDER_BODY))
        theirs = call(order_event(other, ORDER_BODY))

        assert theirs[0] == 201
        assert theirs[1]["order"]["order_id"] != mine[1]["order"]["order_id"]

    def test_a_missing_key_is_400(self, registered):
        status, body = call(order_event(registered, ORDER_BODY, key=None))

        assert (status, body["error"]["code"]) == (400, "missing_idempotency_key")

    @pytest.mark.parametrize(
        "body",
        [
            {**ORDER_BODY, "lines": []},
            {**ORDER_BODY, "currency": "euro"},
            {**ORDER_BODY, "lines": [{**ORDER_BODY["lines"][0], "quantity": False}]},
            {**ORDER_BODY, "lines": [{**ORDER_BODY["lines"][0], "quantity": 11}]},
            {**ORDER_BODY, "lines": [{**ORDER_BODY["lines"][0], "quantity": 10}] * 6},
            {**ORDER_BODY, "lines": [{**ORDER_BODY["lines"][0], "unit_price": "20.00"}]},
            {**ORDER_BODY, "extra": 1},
        ],
    )
    def test_invalid_orders_are_422(self, registered, body):
        status, response = call(order_event(registered, body))

        assert status == 422
        assert response["error"]["code"] == "invalid_request"

    def test_an_invalid_org_id_is_422(self, registered):
        status, _ = call(order_event(registered, ORDER_BODY, org_id="bad org!"))

        assert status == 422
