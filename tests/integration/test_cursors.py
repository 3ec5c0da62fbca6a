"""Every paged route takes back only the cursors it made for the caller: any other cursor is a 422, never a
5xx (a start key DynamoDB refuses, a part the route does not know). Over HTTP on the local runtime, so DynamoDB
Local's own validation is what a forged cursor meets.

Each route's real `next_cursor` is the seed; hypothesis mutates it (values swapped for other JSON, keys
dropped or added, strings emptied, cut, lengthened, made of lone surrogates) or replaces it with any text.
"""

import base64
import binascii
import json
import os
import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.integration.test_linking import pos_sale
from tests.integration.test_partners import deliver, order, register_partner

# its module fixtures are made once: with `--dist loadgroup` (make test) the file's tests share a worker
pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("test_cursors")]

EXAMPLES = int(os.environ.get("HYPOTHESIS_EXAMPLES", "15"))  # `make soak`: many more
PURCHASE = {
    "currency": "EUR",
    "payment_method": "card",
    "lines": [{"kind": "ticket", "item_id": "ev-1", "quantity": 1, "unit_price": 1000}],
}


def encoded(position: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(position).encode()).decode()


def decoded(cursor: str) -> Any:
    return json.loads(base64.urlsafe_b64decode(cursor.encode()))


def next_cursor(runtime, token, path, params) -> str:
    """The route's own cursor for its first page (waiting for what the linker writes, such as activity)."""

    def page() -> str | None:
        response = runtime.call("GET", path, token, params=params)
        assert response.status_code == 200, response.text
        return response.json()["next_cursor"]

    return runtime.wait_for(page)


@pytest.fixture(scope="module")
def paged(runtime) -> dict[str, tuple[str, str, dict[str, Any], str]]:
    """Each paged route (a label): its caller's token, its path, its query, and a cursor it made."""
    org, other_org = f"org-cur-{uuid.uuid4().hex[:6]}", f"org-cur-{uuid.uuid4().hex[:6]}"
    email = f"cursor-{uuid.uuid4().hex[:8]}@example.com"
    user = runtime.token(email=email, email_verified=True)
    assert runtime.call("PUT", "/v1/me", user).status_code == 201
    for where in (org, org, other_org):  # two profiles, three history entries
        headers = {"Idempotency-Key": uuid.uuid4().hex}
        answer = runtime.call("POST", f"/v1/orgs/{where}/orders", user, json_body=PURCHASE, headers=headers)
        assert answer.status_code == 201, answer.text
    partner_id, secret = register_partner(runtime, org)
    for _ in range(2):  # two open claims to the user's email
        assert deliver(runtime, partner_id, secret, order(org, email)).status_code == 201
    admin = runtime.token(f"admin-{uuid.uuid4().hex[:6]}", org_id=org, roles=["admin", "viewer"])
    runtime.token(f"pos-{uuid.uuid4().hex[:6]}", org_id=org, roles=["pos"])  # a second member
    walk_up = f"walkup-{uuid.uuid4().hex[:8]}@example.com"
    for _ in range(2):  # one profile with two orders, named Dana
        sale = pos_sale(runtime, org, {"email": walk_up, "given_name": "Dana"})
    pos_sale(runtime, org, {"email": f"other-{uuid.uuid4().hex[:8]}@example.com", "given_name": "Daniel"})
    profile = f"/v1/orgs/{org}/profiles/{sale['profile']['profile_id']}"

    routes = {
        "my profiles": (user, "/v1/me/profiles", {"limit": 1}),
        "my history": (user, "/v1/me/history", {"limit": 1}),
        "my history in an org": (user, "/v1/me/history", {"limit": 1, "org_id": org}),
        "my claims": (user, "/v1/me/claims", {"limit": 1}),
        "my export": (user, "/v1/me/export", {}),
        "org profiles": (admin, f"/v1/orgs/{org}/profiles", {"limit": 1}),
        "org profiles by name": (admin, f"/v1/orgs/{org}/profiles", {"limit": 1, "name": "da"}),
        "a profile's orders": (admin, profile, {"limit": 1}),
        "a profile's activity": (admin, f"{profile}/activity", {"limit": 1}),
        "staff": (admin, f"/v1/orgs/{org}/staff", {"limit": 1}),
    }
    seeds = {label: (*route, next_cursor(runtime, *route)) for label, route in routes.items()}
    # An org's export of a profile pages only past 100 orders; its cursor is the profile view's
    seeds["a profile's export"] = (admin, f"{profile}/export", {}, seeds["a profile's orders"][3])
    return seeds


def answer(runtime, paged, label, cursor):
    token, path, params, _ = paged[label]
    return runtime.call("GET", path, token, params={**params, "cursor": cursor})


def test_each_routes_own_cursor_is_taken_back(runtime, paged):
    for label, (_, _, _, cursor) in paged.items():
        assert answer(runtime, paged, label, cursor).status_code == 200, label


@pytest.mark.parametrize(
    ("label", "forge"),
    [
        ("my export", lambda seed: {"part": "history"}),  # no history cursor in it
        ("my export", lambda seed: {"part": "activity", "index": True}),
        ("my export", lambda seed: {"part": "activity", "index": 0, "cursor": ""}),
        ("my claims", lambda seed: {**seed, "after": [{**seed["after"][0], "gsi1sk": ""}]}),  # an empty sort key
        ("staff", lambda seed: {**seed, "sk": "ROSTER"}),  # the roster item, outside the members' range
        ("my history", lambda seed: {**seed, "gsi1sk": "HIST#" + "X" * 1100}),  # over a sort key's 1024 bytes
        ("a profile's activity", lambda seed: {**seed, "sk": "\ud800"}),  # not UTF-8
        ("org profiles", lambda seed: {**seed, "after": [""] * len(seed["after"])}),
        ("org profiles by name", lambda seed: {**seed, "gsi2sk": "zz"}),  # outside the name's prefix
        ("a profile's orders", lambda seed: [seed]),  # not an object
    ],
)
def test_a_cursor_the_route_never_made_is_a_422(runtime, paged, label, forge):
    position = forge(decoded(paged[label][3]))

    response = answer(runtime, paged, label, encoded(position))

    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == "cursor"


@pytest.mark.parametrize("label", ["my profiles", "my history", "my claims", "my export"])
def test_a_cursor_made_for_another_caller_is_a_422(runtime, paged, label):
    stranger = runtime.token(email=f"s-{uuid.uuid4().hex[:8]}@example.com", email_verified=True)
    assert runtime.call("PUT", "/v1/me", stranger).status_code == 201
    _, path, params, cursor = paged[label]
    if label == "my export":  # the export's own part is anyone's; the history cursor it resumes names its caller
        cursor = encoded({"part": "history", "cursor": paged["my history"][3]})

    response = runtime.call("GET", path, stranger, params={**params, "cursor": cursor})

    assert response.status_code == 422, response.text


JSON_LEAF = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    st.text(max_size=20),
    st.sampled_from(["", "\ud800", "x" * 1500, "ROSTER", "MEMBER#", "ORDER#", "ENT#", "HIST#"]),
)
ANY_JSON = st.recursive(
    JSON_LEAF,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


@st.composite
def mutated(draw, seed: Any) -> Any:
    """The seed with one value somewhere in it changed, a key dropped or added, or a string altered."""
    if isinstance(seed, dict) and seed:
        key = draw(st.sampled_from(sorted(seed)))
        how = draw(st.sampled_from(["replace", "drop", "add", "descend"]))
        if how == "drop":
            return {k: v for k, v in seed.items() if k != key}
        if how == "add":
            return {**seed, draw(st.text(min_size=1, max_size=8)): draw(ANY_JSON)}
        return {**seed, key: draw(mutated(seed[key]) if how == "descend" else ANY_JSON)}
    if isinstance(seed, list) and seed:
        index = draw(st.integers(0, len(seed) - 1))
        return [*seed[:index], draw(mutated(seed[index])), *seed[index + 1 :]]
    if isinstance(seed, str) and seed:
        if seed.startswith("ey"):  # a cursor inside the cursor: mutate what it holds
            try:
                return encoded(draw(mutated(decoded(seed))))
            except (ValueError, binascii.Error):
                pass
        cut = draw(st.integers(0, len(seed)))
        return draw(st.sampled_from([seed[:cut], seed[:cut] + draw(st.text(max_size=5)), seed + "\ud800"]))
    return draw(ANY_JSON)


@pytest.mark.parametrize(
    "label",
    [
        "my profiles",
        "my history",
        "my history in an org",
        "my claims",
        "my export",
        "org profiles",
        "org profiles by name",
        "a profile's orders",
        "a profile's activity",
        "a profile's export",
        "staff",
    ],
)
def test_no_mutated_cursor_is_answered_with_a_5xx(runtime, paged, label):
    seed = decoded(paged[label][3])
    cursors = st.one_of(
        mutated(seed).map(encoded),
        st.text(max_size=60),
        st.binary(max_size=60).map(lambda raw: base64.urlsafe_b64encode(raw).decode()),
    )

    @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(cursor=cursors)
    def never_a_5xx(cursor):
        response = answer(runtime, paged, label, cursor)
        assert response.status_code in (200, 422), (cursor, response.status_code, response.text[:300])
        assert response.status_code == 200 or "cursor" in response.text

    never_a_5xx()
