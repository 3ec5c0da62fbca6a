"""Adversarial input on every documented route over HTTP: whatever is sent, never a 5xx, always JSON.

Routes and methods come from the committed OpenAPI document, so a new route is covered without editing
this file.
"""

import json
from pathlib import Path
from urllib.parse import quote

import pytest
import requests

pytestmark = pytest.mark.integration

DOCUMENT = json.loads((Path(__file__).resolve().parents[2] / "docs" / "openapi.json").read_text())
ROUTES = [(path, method.upper()) for path, operations in DOCUMENT["paths"].items() for method in operations]
BODIES = [
    "",
    "null",
    "[]",
    "{}",
    '{"unterminated": ',
    '"a string"',
    "1e999",
    json.dumps({"x": "y" * 20_000}),
    json.dumps({"version": True, "attributes": {"given_name": None}, "lines": [{}] * 3}),
    json.dumps(
        {
            "currency": "EUR",
            "payment_method": "card",
            "lines": [{"kind": "ticket", "item_id": "a", "quantity": -1, "unit_price": 1e30}],
        }
    ),
    '{"a": ' * 500 + "1" + "}" * 500,
]
PATH_VALUES = ["x", "org-fuzz", quote("../../etc/passwd", safe=""), quote("ünïcødé", safe=""), "a" * 300, "%00"]


def fill(path: str, value: str) -> str:
    for name in ("org_id", "profile_id", "entitlement_id", "partner_id", "token", "subject"):
        path = path.replace("{" + name + "}", value)
    return path


@pytest.mark.parametrize(("path", "method"), ROUTES, ids=[f"{m} {p}" for p, m in ROUTES])
def test_no_input_makes_a_server_error(runtime, path, method):
    tokens = [
        runtime.token(),
        runtime.token(org_id="org-fuzz", roles=["admin", "pos", "viewer"], client_id="local-staff-console"),
    ]
    runtime.call("PUT", "/v1/me", tokens[0])
    for token in tokens:
        for value in PATH_VALUES:
            for body in BODIES:
                response = requests.request(
                    method,
                    runtime.base_url + fill(path, value),
                    data=body.encode(),
                    params={"limit": "-1", "cursor": "%%%", "email": "x"},
                    headers={
                        "Authorization": f"Bearer {token}",
                        "Content-Type": "application/json",
                        "Idempotency-Key": "fuzz",
                        "webhook-id": "m",
                        "webhook-timestamp": "1",
                        "webhook-signature": "v1,AAAA",
                    },
                    timeout=30,
                )
                assert response.status_code < 500, (method, path, value, body[:80], response.text[:300])
                assert response.status_code == 204 or isinstance(response.json(), dict)


ENCODINGS = [
    (b'{"currency": "EUR"}', "text/plain", 415),
    (b"<order/>", "application/xml", 415),
    (b'--b\r\nContent-Disposition: form-data; name="x"\r\n\r\n1\r\n--b--', "multipart/form-data; boundary=b", 415),
    # Not UTF-8: API Gateway (and the local gateway) pass it on as text with replacement characters, so the
    # route answers it as any other JSON; never a 502.
    (b'{"currency": "\xff\xfe"}', "application/json", None),
    (b"[" * 20_000, "application/json", 422),
    (b'{"unterminated": ', "application/json", 422),
    (json.dumps({"x": "y" * 1_000_000}).encode(), "application/json", 413),
]


@pytest.mark.parametrize(("path", "method"), [r for r in ROUTES if r[1] in ("POST", "PUT", "PATCH")], ids=str)
def test_a_body_that_is_not_small_utf8_json_is_refused_before_parsing(runtime, path, method):
    token = runtime.token(org_id="org-fuzz", roles=["admin", "pos", "viewer"])
    for body, content_type, status in ENCODINGS:
        response = requests.request(
            method,
            runtime.base_url + fill(path, "org-fuzz"),
            data=body,
            headers={"Authorization": f"Bearer {token}", "Content-Type": content_type, "Idempotency-Key": "enc"},
            timeout=30,
        )
        expected = status or response.status_code
        assert response.status_code == expected < 500, (method, path, content_type, body[:40], response.text[:300])
        error = response.json()["error"]
        # refused for the body itself, or (a route that reads no body) for its path
        assert error["code"] and ("field" not in error or "{" + error["field"] + "}" in path)
