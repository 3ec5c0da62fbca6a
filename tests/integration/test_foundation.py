"""The foundation over real HTTP: the authorizer, /v1/me, API Gateway's own errors, and the stream poller."""

import os
import subprocess
import sys
import time
from pathlib import Path

import jwt
import pytest

from local_runtime.idp import ISSUER

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def test_put_then_get_me_over_http(runtime):
    # Given a token with a verified email
    token = runtime.token(email="Ada@Example.com", email_verified=True)

    # When the person registers, registers again, and reads their user
    created = runtime.call("PUT", "/v1/me", token)
    again = runtime.call("PUT", "/v1/me", token)
    fetched = runtime.call("GET", "/v1/me", token)

    # Then one user exists, with the normalised verified email
    assert (created.status_code, again.status_code, fetched.status_code) == (201, 200, 200)
    assert created.json()["user_id"] == again.json()["user_id"] == fetched.json()["user_id"]
    assert fetched.json()["email"] == "ada@example.com"


def test_get_me_before_registering_is_404(runtime):
    response = runtime.call("GET", "/v1/me", runtime.token())

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def forged_tokens(runtime):
    now = int(time.time())
    claims = {"sub": "mallory", "iss": ISSUER, "aud": "local-consumer-app", "iat": now, "exp": now + 600}
    from cryptography.hazmat.primitives.asymmetric import rsa

    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    kid = jwt.get_unverified_header(runtime.token())["kid"]
    return {
        "expired": runtime.token(ttl_seconds=-120),
        "forged": jwt.encode(claims, other_key, algorithm="RS256", headers={"kid": kid}),
        "alg-none": jwt.encode(claims, None, algorithm="none", headers={"kid": kid}),
        "wrong-issuer": jwt.encode(
            {**claims, "iss": "https://evil.example"}, other_key, algorithm="RS256", headers={"kid": kid}
        ),
        "wrong-audience": runtime.token(client_id="someone-elses-app"),
        "garbage": "not-a-token",
    }


@pytest.mark.parametrize("kind", ["expired", "forged", "alg-none", "wrong-issuer", "wrong-audience", "garbage"])
def test_bad_tokens_are_401_before_any_handler(runtime, kind):
    response = runtime.call("GET", "/v1/me", forged_tokens(runtime)[kind])

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"


def test_no_token_is_401(runtime):
    response = runtime.call("GET", "/v1/me")

    assert (response.status_code, response.json()["error"]["code"]) == (401, "unauthorized")


def test_an_undeclared_route_is_a_json_404(runtime):
    response = runtime.call("GET", "/v1/nowhere", runtime.token())

    assert (response.status_code, response.json()["error"]["code"]) == (404, "not_found")


def test_a_wrong_method_on_a_declared_route_is_405(runtime):
    response = runtime.call("PATCH", "/v1/me", runtime.token())

    assert response.status_code == 405
    assert response.headers["Allow"]


def test_staff_act_only_inside_their_org(runtime):
    staff = runtime.token(org_id="org-a", roles=["viewer"], client_id="local-staff-console")

    own = runtime.call("GET", "/v1/orgs/org-a/profiles", staff)
    other = runtime.call("GET", "/v1/orgs/org-b/profiles", staff)

    assert own.status_code == 200
    assert (other.status_code, other.json()["error"]["code"]) == (404, "not_found")


def test_partner_routes_skip_the_authorizer_and_check_signatures_themselves(runtime):
    response = runtime.call("POST", "/v1/partners/any/orders", json_body={"org_id": "x"})

    # the handler answered (its own error code), not API Gateway's authorizer
    assert (response.status_code, response.json()["error"]["code"]) == (401, "invalid_signature")


def test_a_table_change_reaches_the_stream_function_through_the_poller(runtime):
    # Given a new registration (an INSERT of a user item in the table)
    user_id = runtime.call("PUT", "/v1/me", runtime.token()).json()["user_id"]

    # Then the poller delivers it to the linker, which publishes UserRegistered to the local sink
    event = runtime.wait_for(
        lambda: next((e for e in runtime.published() if e["detail"].get("user_id") == user_id), None)
    )
    assert event["detail-type"] == "UserRegistered"


def test_operator_commands_work_from_a_plain_shell_against_the_local_runtime(runtime):
    # A laptop may have no AWS credentials at all: the local endpoint must not need them.
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "scripts.operator",
            "--endpoint",
            runtime.dynamodb_endpoint,
            "configure-org",
            "--org-id",
            "org-shell",
            "--default-region",
            "GB",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    assert runtime.table().get_item(Key={"pk": "ORG#org-shell", "sk": "CONFIG"})["Item"]["default_region"] == "GB"
