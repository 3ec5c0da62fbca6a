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

# its module fixtures are made once: with `--dist loadgroup` (make test) the file's tests share a worker
pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("test_contract")]

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
# An answer without a body has no schema or content type to conform to (API Gateway still labels it JSON).
BODILESS_CHECKS = [c for c in CHECKS if c not in (response_schema_conformance, content_type_conformance)]
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
        said = f"{case.method} {case.formatted_path} -> {response.status_code} {response.text[:500]}"
        documented = case.operation.definition.raw["responses"].get(str(response.status_code), {})
        # A status documented without content (a 204) has none on the wire, and one with content has a body
        assert bool(response.content) == ("content" in documented), said
        try:
            case.validate_response(response, checks=CHECKS if response.content else BODILESS_CHECKS)
        except Exception as failure:
            raise AssertionError(said) from failure
        content_type = str({k.lower(): v for k, v in response.headers.items()}.get("content-type", ""))
        if response.content and "text/csv" in content_type:  # the one other kind documented: a report as CSV
            assert response.status_code == 200, said
        elif response.content:
            assert isinstance(json.loads(response.content), dict)  # every JSON answer is an object

    answers_as_documented()
