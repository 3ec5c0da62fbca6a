"""Bounded reads, on moto: the staff profile view pages a profile's orders and entitlements newest first
with the same few requests at 10 orders as at 400; claims and the linker read only what they need."""

import json
import os
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import org_api
from customer_profiles import clock
from customer_profiles.data import keys
from customer_profiles.data.codec import encode_cursor, entitlement_to_item, order_to_item
from customer_profiles.domain.claims import claims
from customer_profiles.domain.sales import pos
from customer_profiles.domain.staff import org_console
from customer_profiles.edge import secrets as secret_store
from customer_profiles.errors import InvalidInput
from customer_profiles.models.api import PosSaleRequest
from customer_profiles.models.domain import Entitlement, Order, OrderLine
from tests.support.requests import requests_of
from tests.unit.conftest import FakeContext, api_event, staff_principal, user_principal
from tests.unit.test_partners import ORG as ARENA
from tests.unit.test_partners import claim_token_for, order_body, secret  # noqa: F401 - a fixture

ORG = "org-venue"
SELLER = staff_principal("till-1", ORG, "pos")
VIEWER = staff_principal("auditor", ORG, "viewer")
LINE = OrderLine(kind="ticket", item_id="ev-1", quantity=1, unit_price=100)
EXAMPLES = int(os.environ.get("HYPOTHESIS_EXAMPLES", "20"))
WITHOUT_EXPLAIN = [phase for phase in Phase if phase is not Phase.explain]


def new_profile(store, org=ORG) -> str:
    """An anonymous cash sale's profile, without its order (tests add their own)."""
    seller = staff_principal("till-1", org, "pos")
    request = PosSaleRequest.model_validate(
        {"currency": "GBP", "payment_method": "cash", "lines": [LINE.model_dump()], "customer": {}}
    )
    made = pos.create_pos_sale(store, seller, org, request, receipt_keys=secret_store.receipt_code_keys)
    source = store.get_profile(org, made.profile.profile_id)
    store.move_all_children(source, source.model_copy(update={"profile_id": f"gone-{uuid.uuid4().hex}"}))
    return made.profile.profile_id


def add_order(store, profile_id, created_at, entitlements=1, *, legacy_ids=False, org=ORG, user_id=None):
    order, children = build(profile_id, created_at, entitlements, legacy_ids=legacy_ids, org=org)
    store.create_order(order, children, user_id)
    return order, children


def build(profile_id, created_at, entitlements, *, legacy_ids=False, org=ORG):
    order = Order(
        order_id=uuid.uuid4().hex,
        org_id=org,
        profile_id=profile_id,
        channel="pos",
        currency="GBP",
        payment_method="cash",
        lines=[LINE],
        total=100,
        created_at=created_at,
    )
    children = [
        Entitlement(
            entitlement_id=uuid.uuid4().hex if legacy_ids else clock.time_ordered_id(created_at),
            org_id=org,
            profile_id=profile_id,
            order_id=order.order_id,
            kind="ticket",
            item_id="ev-1",
            status="active",
            created_at=created_at,
        )
        for _ in range(entitlements)
    ]
    return order, children


def instant(n: int) -> str:
    """The n-th second of 2027, as `utc_now` writes instants."""
    at = datetime(2027, 1, 1, tzinfo=UTC) + timedelta(seconds=n)
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def walk(store, profile_id, limit, org=ORG) -> Iterator[tuple[list[Order], list[Entitlement]]]:
    cursor = None
    while True:
        page = org_console.read_profile(
            store, staff_principal("auditor", org, "viewer"), org, profile_id, limit=limit, cursor=cursor
        )
        assert len(page.orders) + len(page.entitlements) <= limit
        yield page.orders, page.entitlements
        cursor = page.next_cursor
        if cursor is None:
            return


def timeline(orders, entitlements) -> list[tuple[str, bool, str]]:
    """A page's children in the order the view promises: newest first, an order before its entitlements."""
    children = [(o.created_at, True, o.order_id) for o in orders] + [
        (e.created_at, False, e.entitlement_id) for e in entitlements
    ]
    return sorted(children, reverse=True)


def test_time_ordered_ids_sort_by_time_and_above_every_earlier_id():
    earlier = [uuid.uuid4().hex for _ in range(200)] + ["f" * 32]
    made = [clock.time_ordered_id(instant(n)) for n in (5, 61, 3600, 3601)]

    assert made == sorted(made)
    assert min(made) > max(earlier)
    assert all(len(i) == 34 and i.isalnum() for i in made)


def test_the_view_pages_orders_and_entitlements_together_newest_first(store):
    profile_id = new_profile(store)
    made = [add_order(store, profile_id, instant(n), entitlements=n % 3) for n in range(12)]

    pages = list(walk(store, profile_id, limit=4))

    seen = [child for orders, entitlements in pages for child in timeline(orders, entitlements)]
    assert seen == sorted(seen, reverse=True)
    assert [s[2] for s in seen if s[1]] == [o.order_id for o, _ in reversed(made)]
    assert Counter(s[2] for s in seen if not s[1]) == Counter(e.entitlement_id for _, es in made for e in es)
    assert all(len(o) + len(e) == 4 for o, e in pages[:-1])


def test_the_first_page_answers_at_most_limit_and_a_cursor_only_when_more_is_left(store):
    profile_id = new_profile(store)
    for n in range(3):
        add_order(store, profile_id, instant(n), entitlements=1)

    exact = org_console.read_profile(store, VIEWER, ORG, profile_id, limit=6, cursor=None)
    cut = org_console.read_profile(store, VIEWER, ORG, profile_id, limit=5, cursor=None)

    assert (len(exact.orders), len(exact.entitlements), exact.next_cursor) == (3, 3, None)
    assert len(cut.orders) + len(cut.entitlements) == 5 and cut.next_cursor
    empty = org_console.read_profile(store, VIEWER, ORG, new_profile(store), limit=5, cursor=None)
    assert (empty.orders, empty.entitlements, empty.next_cursor) == ([], [], None)


def test_entitlements_with_ids_from_before_come_once_after_the_newer_ones(store):
    profile_id = new_profile(store)
    old = [add_order(store, profile_id, instant(n), entitlements=2, legacy_ids=True) for n in range(4)]
    new = [add_order(store, profile_id, instant(100 + n), entitlements=2) for n in range(4)]

    pages = list(walk(store, profile_id, limit=3))

    entitlements = [e.entitlement_id for _, es in pages for e in es]
    assert sorted(entitlements) == sorted(e.entitlement_id for _, es in old + new for e in es)
    newer = [
        e.entitlement_id for _, es in reversed(new) for e in sorted(es, key=lambda e: e.entitlement_id, reverse=True)
    ]
    assert entitlements[:8] == newer
    orders = [o.order_id for os_, _ in pages for o in os_]
    assert orders == [o.order_id for o, _ in reversed(old + new)]


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    phases=WITHOUT_EXPLAIN,
)
@given(
    baskets=st.lists(st.tuples(st.integers(0, 5), st.integers(0, 3)), max_size=15),
    limit=st.integers(1, 12),
)
def test_walking_the_pages_yields_every_child_once_newest_first(store, baskets, limit):
    # Orders at few instants (so many share one) with 0-3 entitlements each, and any page size.
    org = f"org-{uuid.uuid4().hex[:8]}"  # a fresh org per example: the moto table is shared
    profile_id = new_profile(store, org)
    made = [add_order(store, profile_id, instant(at), entitlements=n, org=org) for at, n in baskets]

    seen = [
        child
        for orders, entitlements in walk(store, profile_id, limit, org)
        for child in timeline(orders, entitlements)
    ]

    expected = [(o.created_at, True, o.order_id) for o, _ in made] + [
        (e.created_at, False, e.entitlement_id) for _, es in made for e in es
    ]
    assert sorted(seen) == sorted(expected)  # every order and entitlement exactly once
    assert [s[0] for s in seen] == sorted((s[0] for s in seen), reverse=True)  # newest first across pages


def test_a_cursor_from_anything_else_is_invalid_input(store):
    profile_id, other = new_profile(store), new_profile(store)
    for n in range(3):
        add_order(store, profile_id, instant(n))
        add_order(store, other, instant(n))
    foreign = org_console.read_profile(store, VIEWER, ORG, other, limit=1, cursor=None).next_cursor
    listing = org_console.list_profiles(store, VIEWER, ORG, search=None, limit=1, cursor=None).next_cursor
    pk = keys.profile_pk(ORG, profile_id)
    wrong_prefix = encode_cursor({"profile": pk, "after": ["SEARCH#x", None], "done": [False, False]})
    short = encode_cursor({"profile": pk, "after": [None], "done": [False]})

    for cursor in (foreign, listing, wrong_prefix, short, "not base64!", "e30=", "bnVsbA=="):
        with pytest.raises(InvalidInput):
            org_console.read_profile(store, VIEWER, ORG, profile_id, limit=2, cursor=cursor)


@pytest.mark.usefixtures("reset_handler_caches")
@pytest.mark.parametrize(
    "query",
    [{"cursor": "bm90IGEgY3Vyc29y"}, {"cursor": "%%%"}, {"limit": "0"}, {"limit": "101"}, {"limit": "ten"}],
)
def test_a_bad_cursor_or_limit_is_422_over_the_handler(store, query):
    profile_id = new_profile(store, "org-demo")
    event = api_event("org-api-get-profile.json")
    event["path"] = event["path"].replace("PROFILE_ID", profile_id)
    event["pathParameters"]["profile_id"] = profile_id
    event["queryStringParameters"] = query
    event["multiValueQueryStringParameters"] = {k: [v] for k, v in query.items()}

    response = org_api.handler(event, FakeContext())

    assert response["statusCode"] == 422, response["body"]
    assert json.loads(response["body"])["error"]["code"]


@pytest.mark.usefixtures("reset_handler_caches")
def test_the_handler_answers_pages_with_next_cursor(store):
    profile_id = new_profile(store, "org-demo")
    for n in range(3):
        add_order(store, profile_id, instant(n), entitlements=1, org="org-demo")
    event = api_event("org-api-get-profile.json")
    event["path"] = event["path"].replace("PROFILE_ID", profile_id)
    event["pathParameters"]["profile_id"] = profile_id
    event["queryStringParameters"] = {"limit": "4"}
    event["multiValueQueryStringParameters"] = {"limit": ["4"]}

    first = json.loads(org_api.handler(event, FakeContext())["body"])
    event["queryStringParameters"] = {"limit": "4", "cursor": first["next_cursor"]}
    event["multiValueQueryStringParameters"] = {"limit": ["4"], "cursor": [first["next_cursor"]]}
    second = json.loads(org_api.handler(event, FakeContext())["body"])

    assert len(first["orders"]) + len(first["entitlements"]) == 4 and first["next_cursor"]
    assert len(second["orders"]) + len(second["entitlements"]) == 2 and second["next_cursor"] is None
    assert first["profile"]["profile_id"] == second["profile"]["profile_id"] == profile_id


def test_a_page_costs_the_same_requests_at_10_and_at_400_orders(store):
    def page_requests(orders: int) -> list[Counter[str]]:
        profile_id = new_profile(store)
        with store.db.table.batch_writer() as batch:  # moto's transactions are slow at 400 orders
            for n in range(orders):
                order, entitlements = build(profile_id, instant(n), 2)
                batch.put_item(Item=order_to_item(order, None))
                for entitlement in entitlements:
                    batch.put_item(Item=entitlement_to_item(entitlement, None))
        first = org_console.read_profile(store, VIEWER, ORG, profile_id, limit=25, cursor=None)
        return [
            requests_of(store, lambda: org_console.read_profile(store, VIEWER, ORG, profile_id, limit=25, cursor=None)),
            requests_of(
                store,
                lambda: org_console.read_profile(store, VIEWER, ORG, profile_id, limit=25, cursor=first.next_cursor),
            ),
        ]

    small, large = page_requests(10), page_requests(400)

    assert small == large
    # the profile and its consents (one BatchGetItem), a Query per kind of child; an anonymous profile: no
    # holder to look up
    assert small[0] == Counter({"BatchGetItem": 1, "Query": 2})


def test_a_claim_costs_the_same_requests_however_many_orders_its_profile_holds(store, secret):  # noqa: F811
    def claim_requests(extra_orders: int) -> Counter[str]:
        buyer = {"email": f"{uuid.uuid4().hex[:8]}@example.com"}
        body = order_body(buyer=buyer, external_order_id=uuid.uuid4().hex)
        token, claim = claim_token_for(store, secret, body, webhook_id=uuid.uuid4().hex)
        holder = store.get_profile(ARENA, claim["profile_id"]).user_id
        for n in range(extra_orders):
            add_order(store, claim["profile_id"], instant(n), entitlements=2, org=ARENA, user_id=holder)
        friend = user_principal(email=f"{uuid.uuid4().hex[:8]}@example.com", email_verified=True)
        answers = []
        counted = requests_of(store, lambda: answers.append(claims.claim_entitlements(store, friend, token)))
        assert sorted(e.entitlement_id for e in answers[0].entitlements) == sorted(claim["entitlement_ids"])
        assert {e.status for e in answers[0].entitlements} == {"active"}
        return counted

    assert claim_requests(0) == claim_requests(60)


def test_a_merge_moves_every_child_in_transactions_of_fifty_after_one_read(store):
    source_id, target_id = new_profile(store), new_profile(store)
    made = [add_order(store, source_id, instant(n), entitlements=n % 9) for n in range(30)]
    source, target = store.get_profile(ORG, source_id), store.get_profile(ORG, target_id)
    total = len(made) + sum(len(es) for _, es in made)

    counted = requests_of(store, lambda: store.move_all_children(source, target))

    assert counted == {"Query": 1, "TransactWriteItems": -(-total // 50)}  # ceil: 50 moves (100 items) each
    _, orders, entitlements = store.profile_with_children(ORG, target_id)
    assert len(orders) + len(entitlements) == total
    assert store.profile_with_children(ORG, source_id)[1:] == ([], [])
