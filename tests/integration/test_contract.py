"""The API answers as docs/openapi.json says, for every operation, with a user token and a staff token:
schemathesis generates requests from the document and sends them over HTTP to the local runtime; every
answer must be documented (status, content type, headers, body schema), and none may be a 5xx.

Bounded in `make test` (CONTRACT_EXAMPLES, default 6 per operation and token); `make contract` runs more.
"""

import json
import os
import uuid
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

pytestmark = pytest.mark.integration

DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
SCHEMA = schemathesis.openapi.from_path(DOCUMENT)
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]
EXAMPLES = int(os.environ.get("CONTRACT_EXAMPLES", "6"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
ORG = f"org-contract-{uuid.uuid4().hex[:6]}"


@pytest.fixture(scope="module")
def tokens(runtime):
    user = runtime.token(email=f"contract-{uuid.uuid4().hex[:6]}@example.com", email_verified=True)
    assert runtime.call("PUT", "/v1/me", user).status_code == 201
    staff = runtime.token(f"contract-staff-{uuid.uuid4().hex[:6]}", org_id=ORG, roles=["admin", "pos", "viewer"])
    sale = {"currency": "EUR", "payment_method": "cash", "customer": {"email": "walkup@example.com"}}
    sale["lines"] = [{"kind": "ticket", "item_id": "ev-1", "quantity": 1, "unit_price": 100}]
    sold = runtime.call(
        "POST", f"/v1/orgs/{ORG}/pos/sales", staff, json_body=sale, headers={"Idempotency-Key": "contract-seed"}
    )
    assert sold.status_code == 201, sold.text
    return {"user": user, "staff": staff}


@pytest.mark.parametrize("operation", OPERATIONS, ids=[o.label for o in OPERATIONS])
@pytest.mark.parametrize("who", ["user", "staff"])
def test_every_answer_is_documented_and_none_is_a_5xx(runtime, tokens, operation, who):
    in_our_org = {"org_id": ORG} if "org_id" in operation.path else {}
    strategy = st.one_of(operation.as_strategy(), operation.as_strategy(path_parameters=in_our_org))

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def answers_as_documented(case):
        response = case.call(base_url=runtime.base_url, headers={"Authorization": f"Bearer {tokens[who]}"})
        try:
            # An empty answer (204) has no body to check against a schema; API Gateway still labels it JSON.
            checks = CHECKS if response.content else [c for c in CHECKS if c is not response_schema_conformance]
            case.validate_response(response, checks=checks)
        except Exception as failure:
            body = response.text[:500]
            raise AssertionError(f"{case.method} {case.formatted_path} -> {response.status_code} {body}") from failure
        if response.content:
            assert isinstance(json.loads(response.content), dict)

    answers_as_documented()
