import time
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from customer_profiles.edge.tokens import TokenVerifier
from customer_profiles.models.principal import InvalidToken, Principal
from tests.support.tokens import AUDIENCES, ISSUER, FakeIdp


@pytest.fixture
def idp(tmp_path: Path) -> FakeIdp:
    return FakeIdp.create(tmp_path)


@pytest.fixture
def verifier(idp: FakeIdp) -> TokenVerifier:
    return TokenVerifier(issuer=ISSUER, audiences=AUDIENCES, jwks_url=idp.jwks_url, staff_clients=["staff-console"])


def test_a_valid_user_token_gives_a_user_principal_with_verified_claims(idp, verifier):
    token = idp.token("alice", email="alice@example.com", email_verified=True, phone_number="+447911123456")

    principal = verifier.verify(token)

    assert principal.kind == "user"
    assert principal.subject == "alice"
    assert principal.client_id == "consumer-app"
    assert principal.verified_email == "alice@example.com"
    assert principal.verified_phone is None  # present but not verified


def test_a_staff_console_token_is_staff_and_its_claims_grant_no_role(idp, verifier):
    token = idp.token("bob", aud="staff-console", org_id="org-1", roles=["pos", "viewer"])

    principal = verifier.verify(token)

    assert principal.kind == "staff"
    assert principal.memberships == {}  # the authorizer reads them from the service's memberships
    assert principal.roles_in("org-1") == frozenset()


@pytest.mark.parametrize("claims", [{"org_id": "org-1", "roles": ["admin"]}, {"cognito:groups": ["admin"]}], ids=str)
def test_a_consumer_app_token_carrying_staff_claims_is_a_plain_user(idp, verifier, claims):
    principal = verifier.verify(idp.token("mallory", aud="consumer-app", **claims))

    assert principal.kind == "user"
    assert principal.roles_in("org-1") == frozenset()


def test_access_tokens_are_accepted_by_client_id_and_carry_no_identifiers(idp, verifier):
    token = idp.token(
        "alice", aud=None, client_id="whitelabel-app", token_use="access", email="a@x.example", email_verified=True
    )

    principal = verifier.verify(token)

    assert (principal.client_id, principal.token_use) == ("whitelabel-app", "access")
    assert principal.verified_email is None


def test_an_rfc9068_access_token_is_an_access_token(idp, verifier):
    token = idp.token("alice", headers={"typ": "at+jwt"}, email="a@x.example", email_verified=True)

    principal = verifier.verify(token)

    assert principal.token_use == "access"
    assert principal.verified_email is None


def test_an_oidc_id_token_without_token_use_is_an_id_token(idp, verifier):
    principal = verifier.verify(idp.token("alice", email="a@x.example", email_verified=True))

    assert (principal.token_use, principal.verified_email) == ("id", "a@x.example")


@pytest.mark.parametrize(
    "claims",
    [
        {"sub": "consumer-app", "aud": None, "client_id": "consumer-app", "token_use": "access"},  # Cognito
        {"sub": "staff-console", "aud": "staff-console"},
    ],
    ids=["cognito-client-credentials", "subject-is-the-client"],
)
def test_client_credentials_tokens_name_no_person_and_are_refused(idp, verifier, claims):
    with pytest.raises(InvalidToken, match="no person"):
        verifier.verify(idp.token(**claims))


@pytest.mark.parametrize(
    "make_token",
    [
        pytest.param(lambda idp: idp.token(exp=int(time.time()) - 120), id="expired"),
        pytest.param(lambda idp: idp.token(iss="https://evil.example"), id="wrong-issuer"),
        pytest.param(lambda idp: idp.token(aud="someone-elses-app"), id="wrong-audience"),
        pytest.param(
            lambda idp: idp.token(key=rsa.generate_private_key(public_exponent=65537, key_size=2048)), id="forged"
        ),
        pytest.param(
            lambda idp: jwt.encode(
                {"sub": "x", "iss": ISSUER, "aud": AUDIENCES[0], "exp": int(time.time()) + 60, "iat": int(time.time())},
                None,
                algorithm="none",
                headers={"kid": idp.kid},
            ),
            id="alg-none",
        ),
        pytest.param(lambda idp: idp.token(token_use="refresh"), id="unknown-token-use"),
        pytest.param(lambda idp: "not-a-jwt", id="garbage"),
        pytest.param(lambda idp: idp.token(headers={"kid": "unknown-key"}), id="unknown-kid"),
    ],
)
def test_bad_tokens_are_refused(idp, verifier, make_token):
    with pytest.raises(InvalidToken):
        verifier.verify(make_token(idp))


def test_hs256_signed_with_the_public_key_is_refused(idp, verifier):
    # The classic confusion attack: the RSA public key used as an HMAC secret.
    public_pem = idp.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    now = int(time.time())
    claims = {"sub": "mallory", "iss": ISSUER, "aud": AUDIENCES[0], "iat": now, "exp": now + 60}
    import base64
    import hashlib
    import hmac
    import json

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    signing_input = (
        f"{b64(json.dumps({'alg': 'HS256', 'typ': 'JWT', 'kid': idp.kid}).encode())}.{b64(json.dumps(claims).encode())}"
    )
    signature = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()

    with pytest.raises(InvalidToken):
        verifier.verify(f"{signing_input}.{b64(signature)}")


def test_principal_survives_the_api_gateway_context_round_trip():
    principal = Principal(
        kind="staff",
        subject="bob",
        client_id="staff-console",
        email="b@x.example",
        email_verified=True,
        token_use="access",
        memberships={"org-1": frozenset({"pos"}), "org-2": frozenset({"admin", "viewer"})},
    )

    assert Principal.from_context(principal.to_context()) == principal


def test_a_context_without_a_principal_is_refused():
    with pytest.raises(InvalidToken):
        Principal.from_context({})
