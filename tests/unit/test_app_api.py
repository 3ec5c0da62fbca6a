import json

import pytest

import app_api
from tests.unit.conftest import FakeContext, api_event, staff_principal, user_principal

pytestmark = pytest.mark.usefixtures("aws", "reset_handler_caches")


def call(event):
    response = app_api.handler(event, FakeContext())
    return response["statusCode"], json.loads(response["body"]) if response.get("body") else None


def test_put_me_creates_then_returns_the_user():
    principal = user_principal(email="alice@example.com", email_verified=True)

    created_status, created = call(api_event("app-api-put-me.json", principal=principal))
    again_status, again = call(api_event("app-api-put-me.json", principal=principal))
    get_status, fetched = call(api_event("app-api-get-me.json", principal=principal))

    assert (created_status, again_status, get_status) == (201, 200, 200)
    assert created["email"] == "alice@example.com"
    assert again["user_id"] == created["user_id"] == fetched["user_id"]


def test_get_me_before_put_is_a_json_404():
    status, body = call(api_event("app-api-get-me.json", principal=user_principal()))

    assert status == 404
    assert body["error"]["code"] == "not_found"


def test_a_staff_token_on_me_is_403():
    staff = staff_principal(None, "org-1", "pos")

    status, body = call(api_event("app-api-get-me.json", principal=staff))

    assert (status, body["error"]["code"]) == (403, "forbidden")


def test_a_request_without_a_principal_is_401():
    event = api_event("app-api-get-me.json")
    event["requestContext"]["authorizer"] = None

    status, body = call(event)

    assert (status, body["error"]["code"]) == (401, "unauthorized")


def test_an_unsupported_method_on_a_known_path_is_405_with_allow():
    event = api_event("app-api-get-me.json", principal=user_principal(), httpMethod="PATCH")

    response = app_api.handler(event, FakeContext())

    assert response["statusCode"] == 405
    assert set(response["multiValueHeaders"]["Allow"][0].split(", ")) == {"DELETE", "GET", "PUT"}


def test_a_non_json_body_is_415():
    event = api_event("app-api-put-me.json", principal=user_principal(), body="<xml/>")
    event["headers"]["Content-Type"] = "multipart/form-data"

    status, body = call(event)

    assert (status, body["error"]["code"]) == (415, "unsupported_media_type")


def test_an_oversized_body_is_413():
    event = api_event("app-api-put-me.json", principal=user_principal(), body="x" * (70 * 1024))
    event["headers"]["Content-Type"] = "application/json"

    status, _ = call(event)

    assert status == 413


def test_answers_carry_cors_headers_errors_included():
    event = api_event("app-api-get-me.json", principal=user_principal())
    event["headers"]["Origin"] = "https://app.example.com"
    event["multiValueHeaders"]["Origin"] = ["https://app.example.com"]

    response = app_api.handler(event, FakeContext())

    assert response["statusCode"] == 404
    assert response["multiValueHeaders"]["Access-Control-Allow-Origin"] == ["*"]
