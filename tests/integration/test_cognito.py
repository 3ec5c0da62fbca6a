"""An outside identity provider: moto's Cognito emulation (a user pool, app clients, users with groups and a
custom attribute) issues the tokens, and the local runtime trusts it through --idp-issuer / --idp-jwks-url.

moto writes `email_verified` as the string "true" where Cognito writes the JSON boolean: under the OpenID
Connect rule we keep (only JSON true verifies), its users sign up without verified identifiers.
"""

import gzip
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import jwt
import pytest
from jwt.algorithms import RSAAlgorithm

from local_runtime.staff import grant_local
from tests.integration.conftest import ROOT, TABLE, Runtime, free_port, local_runtime

# its module fixtures are made once: with `--dist loadgroup` (make test) the file's tests share a worker
pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("test_cognito")]
REGION = "us-east-1"
PASSWORD = "Correct-Horse-9"  # a throwaway user in an emulator


class Cognito:
    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self.client = boto3.client(
            "cognito-idp",
            endpoint_url=endpoint,
            region_name=REGION,
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )
        pool = self.client.create_user_pool(
            PoolName="customer-profiles-test",
            Schema=[{"Name": "org_id", "AttributeDataType": "String", "Mutable": True}],  # custom:org_id
        )["UserPool"]
        self.pool_id = pool["Id"]
        self.issuer = f"https://cognito-idp.{REGION}.amazonaws.com/{self.pool_id}"
        self.clients = {name: self._client(name) for name in ("consumer-app", "staff-console")}
        self.client.create_group(GroupName="admin", UserPoolId=self.pool_id)

    def _client(self, name: str) -> str:
        flows = ["ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
        created = self.client.create_user_pool_client(UserPoolId=self.pool_id, ClientName=name, ExplicitAuthFlows=flows)
        return created["UserPoolClient"]["ClientId"]

    def user(self, username: str, email: str, *, groups: tuple[str, ...] = (), org_id: str | None = None) -> str:
        attributes = [{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}]
        if org_id:
            attributes.append({"Name": "custom:org_id", "Value": org_id})
        self.client.admin_create_user(UserPoolId=self.pool_id, Username=username, UserAttributes=attributes)
        self.client.admin_set_user_password(
            UserPoolId=self.pool_id, Username=username, Password=PASSWORD, Permanent=True
        )
        for group in groups:
            self.client.admin_add_user_to_group(UserPoolId=self.pool_id, Username=username, GroupName=group)
        user = self.client.admin_get_user(UserPoolId=self.pool_id, Username=username)
        return next(a["Value"] for a in user["UserAttributes"] if a["Name"] == "sub")

    def tokens(self, username: str, client: str) -> dict[str, str]:
        result = self.client.admin_initiate_auth(
            UserPoolId=self.pool_id,
            ClientId=self.clients[client],
            AuthFlow="ADMIN_USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": username, "PASSWORD": PASSWORD},
        )["AuthenticationResult"]
        return {"id": result["IdToken"], "access": result["AccessToken"]}

    def client_credentials_token(self, client: str) -> str:
        """What Cognito issues to an app for itself: sub is the client id, signed with moto's own key."""
        import moto

        private = json.loads(
            gzip.decompress((Path(moto.__file__).parent / "cognitoidp/resources/jwks-private.json.gz").read_bytes())
        )
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "sub": self.clients[client],
            "client_id": self.clients[client],
            "token_use": "access",
            "scope": "customer-profiles/read",
            "iat": now,
            "exp": now + 600,
        }
        return jwt.encode(claims, RSAAlgorithm.from_jwk(private), algorithm="RS256", headers={"kid": "dummy"})


@pytest.fixture(scope="module")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    log = (tmp_path_factory.mktemp("moto") / "moto.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        cwd=ROOT,
        stdout=log,
        stderr=log,
        env={**os.environ},
    )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            time.sleep(0.1)
    else:
        process.kill()
        pytest.fail("moto server did not start")
    yield endpoint
    process.terminate()
    process.wait(timeout=10)
    log.close()


@pytest.fixture(scope="module")
def cognito(moto_server: str) -> Cognito:
    return Cognito(moto_server)


@pytest.fixture(scope="module")
def runtime(cognito: Cognito, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    idp = [
        *("--idp-issuer", cognito.issuer),
        *("--idp-jwks-url", f"{cognito.endpoint}/{cognito.pool_id}/.well-known/jwks.json"),
        *("--idp-audiences", ",".join(cognito.clients.values())),
        *("--staff-client-ids", cognito.clients["staff-console"]),
    ]
    with local_runtime(tmp_path_factory.mktemp("cognito-runtime"), *idp) as started:
        yield started


def test_a_cognito_user_signs_up_and_reads_themself_with_id_and_access_tokens(cognito, runtime):
    name = f"ana-{uuid.uuid4().hex[:6]}"
    sub = cognito.user(name, f"{name}@example.com")
    tokens = cognito.tokens(name, "consumer-app")

    signed_up = runtime.call("PUT", "/v1/me", tokens["id"])
    read_by_id = runtime.call("GET", "/v1/me", tokens["id"])
    read_by_access = runtime.call("GET", "/v1/me", tokens["access"])

    assert signed_up.status_code == 201, signed_up.text
    assert signed_up.json()["email"] is None  # moto's "true" is a string: nothing verified (see the module doc)
    assert read_by_id.json()["user_id"] == read_by_access.json()["user_id"] == signed_up.json()["user_id"]
    assert runtime.call("PUT", "/v1/me", tokens["access"]).status_code == 200
    assert jwt.decode(tokens["access"], options={"verify_signature": False})["sub"] == sub


def test_an_access_token_cannot_register(cognito, runtime):
    name = f"bo-{uuid.uuid4().hex[:6]}"
    cognito.user(name, f"{name}@example.com")

    response = runtime.call("PUT", "/v1/me", cognito.tokens(name, "consumer-app")["access"])

    assert response.status_code == 403 and response.json()["error"]["code"] == "id_token_required"


def test_a_client_credentials_token_is_refused_everywhere(cognito, runtime):
    for client in ("consumer-app", "staff-console"):
        token = cognito.client_credentials_token(client)
        for method, path in (("PUT", "/v1/me"), ("GET", "/v1/me"), ("GET", "/v1/orgs/org-any/profiles")):
            assert runtime.call(method, path, token).status_code == 401, (client, method, path)


def test_staff_rights_come_from_memberships_not_from_groups_or_attributes(cognito, runtime):
    venue, club = f"org-{uuid.uuid4().hex[:6]}", f"org-{uuid.uuid4().hex[:6]}"
    name = f"sam-{uuid.uuid4().hex[:6]}"
    sub = cognito.user(name, f"{name}@venue.example", groups=("admin",), org_id=venue)
    staff = cognito.tokens(name, "staff-console")["id"]
    consumer = cognito.tokens(name, "consumer-app")["id"]
    assert jwt.decode(staff, options={"verify_signature": False})["cognito:groups"] == ["admin"]

    # Groups and custom:org_id grant nothing
    assert runtime.call("GET", f"/v1/orgs/{venue}/profiles", staff).status_code == 404

    # The operator makes the subject an admin of one org and a seller in another: one login for both
    grant_local(runtime.dynamodb_endpoint, TABLE, venue, sub, ["admin"])
    grant_local(runtime.dynamodb_endpoint, TABLE, club, sub, ["pos"])
    sale = {"currency": "EUR", "payment_method": "cash", "customer": {}}
    sale["lines"] = [{"kind": "ticket", "item_id": "ev-1", "quantity": 1, "unit_price": 1000}]

    assert runtime.call("GET", f"/v1/orgs/{venue}/staff", staff).status_code == 200
    sold = runtime.call("POST", f"/v1/orgs/{club}/pos/sales", staff, json_body=sale, headers={"Idempotency-Key": "k1"})
    assert sold.status_code == 201, sold.text
    assert runtime.call("GET", f"/v1/orgs/{venue}/profiles", consumer).status_code == 404  # not a staff client

    # Revoked in one org (the club has no admin: the operator does it), kept in the other
    revoked = subprocess.run(
        [
            *(sys.executable, "-m", "scripts.operator", "--endpoint", runtime.dynamodb_endpoint, "--table", TABLE),
            *("remove-staff", "--org-id", club, "--subject", sub),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert revoked.returncode == 0, revoked.stderr
    again = runtime.call("POST", f"/v1/orgs/{club}/pos/sales", staff, json_body=sale, headers={"Idempotency-Key": "k2"})
    assert again.status_code == 404
    assert runtime.call("GET", f"/v1/orgs/{venue}/staff", staff).status_code == 200
