"""Every route checks a body before anything parses or validates it: size (413), media type (415), UTF-8,
nesting depth and well-formed JSON (422, naming no field). No body gives a 5xx."""

import base64
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from customer_profiles.edge.http import MAX_BODY_BYTES, json_nesting_depth
from tests.unit.conftest import FakeContext
from tests.unit.test_events_dir import ALL_EVENTS, API_HANDLERS, load, prepare

API_EVENTS = [n for n in ALL_EVENTS if n.startswith(tuple(API_HANDLERS))]
BODY_EVENTS = [n for n in API_EVENTS if load(n).get("body")]


def answer(name, store, *, body, content_type="application/json", base64_encoded=False):
    event = load(name)
    prepare(name, event, store)
    event["body"] = body
    event["isBase64Encoded"] = base64_encoded
    event["headers"] = {k: v for k, v in event["headers"].items() if k.lower() != "content-type"}
    if content_type is not None:
        event["headers"]["Content-Type"] = content_type
    module = next(m for prefix, m in API_HANDLERS.items() if name.startswith(prefix))
    response = module.handler(event, FakeContext())
    return response["statusCode"], json.loads(response["body"]) if response.get("body") else None


BAD_BODIES = [
    pytest.param('{"currency": "EUR"}', "text/plain", 415, "unsupported_media_type", id="text-plain"),
    pytest.param('{"currency": "EUR"}', "application/xml", 415, "unsupported_media_type", id="xml"),
    pytest.param(
        "--b\r\n\r\n{}\r\n--b--", "multipart/form-data; boundary=b", 415, "unsupported_media_type", id="multipart"
    ),
    pytest.param('{"a": 1}', "application/json; charset=latin-1", 415, "unsupported_media_type", id="latin-1"),
    pytest.param('{"a": 1}', None, 415, "unsupported_media_type", id="no-content-type"),
    pytest.param("[" * 20_000, "application/json", 422, "invalid_json", id="20kb-of-brackets"),
    pytest.param('{"a": [1, 2', "application/json", 422, "invalid_json", id="truncated"),
    pytest.param("not json at all", "application/json", 422, "invalid_json", id="not-json"),
    pytest.param(json.dumps({"x": "y" * MAX_BODY_BYTES}), "application/json", 413, "body_too_large", id="too-large"),
]


@pytest.mark.usefixtures("aws", "reset_handler_caches")
@pytest.mark.parametrize("name", BODY_EVENTS)
@pytest.mark.parametrize(("body", "content_type", "status", "code"), BAD_BODIES)
def test_a_bad_body_is_refused_before_parsing_with_a_json_error(name, store, body, content_type, status, code):
    got, error = answer(name, store, body=body, content_type=content_type)

    assert (got, error["error"]["code"]) == (status, code)
    assert "field" not in error["error"]


@pytest.mark.usefixtures("aws", "reset_handler_caches")
@pytest.mark.parametrize("name", BODY_EVENTS)
def test_a_body_that_is_not_utf8_is_refused(name, store):
    body = base64.b64encode(b'{"currency": "\xff\xfe"}').decode()

    got, error = answer(name, store, body=body, base64_encoded=True)

    assert (got, error["error"]["code"]) == (422, "invalid_json")


@pytest.mark.usefixtures("aws", "reset_handler_caches")
def test_a_base64_body_of_utf8_json_is_read_as_text(store):
    event = load("org-api-post-pos-sale.json")
    body = base64.b64encode(event["body"].encode()).decode()

    got, answered = answer("org-api-post-pos-sale.json", store, body=body, base64_encoded=True)

    assert got == 201, answered


def test_the_depth_count_skips_strings_and_escapes():
    assert json_nesting_depth('{"a": "[[[[\\"[[[", "b": [[1]]}') == 3
    assert json_nesting_depth("[" * 50) == 50
    assert json_nesting_depth('"no nesting"') == 0


@pytest.mark.usefixtures("aws", "reset_handler_caches")
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    name=st.sampled_from(API_EVENTS),
    body=st.one_of(
        st.text(max_size=300),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
            lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
            max_leaves=20,
        ).map(json.dumps),
    ),
    content_type=st.sampled_from(["application/json", "text/plain", "application/json; charset=utf-8", None]),
)
def test_no_body_on_any_route_gives_a_5xx(store, name, body, content_type):
    got, answered = answer(name, store, body=body, content_type=content_type)

    assert got < 500, answered
