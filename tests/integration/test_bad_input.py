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
    for name in ("org_id", "profile_id", "entitlement_id", "partner_id", "token"):
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
                assert isinstance(response.json(), dict)
