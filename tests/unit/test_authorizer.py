import json
from pathlib import Path

import pytest

import authorizer
from tests.support.tokens import AUDIENCES, ISSUER, FakeIdp
from tests.unit.conftest import EVENTS_DIR, FakeContext


@pytest.fixture
def idp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeIdp:
    idp = FakeIdp.create(tmp_path)
    monkeypatch.setenv("IDP_ISSUER", ISSUER)
    monkeypatch.setenv("IDP_AUDIENCES", ",".join(AUDIENCES))
    monkeypatch.setenv("IDP_JWKS_URL", idp.jwks_url)
    monkeypatch.setenv("STAFF_CLIENT_IDS", "staff-console")
    authorizer.verifier.cache_clear()
    authorizer.config.settings.cache_clear()
    yield idp
    authorizer.verifier.cache_clear()
    authorizer.config.settings.cache_clear()


def authorizer_event(token: str) -> dict:
    event = json.loads((EVENTS_DIR / "authorizer-request.json").read_text())
    event["headers"]["Authorization"] = f"Bearer {token}"
    return event


def test_the_committed_event_with_a_fresh_token_is_allowed_for_the_whole_stage(idp):
    # Given the committed authorizer event, carrying a token minted now
    event = authorizer_event(idp.token("alice", email="alice@example.com", email_verified=True))

    # When the authorizer runs
    result = authorizer.handler(event, FakeContext())

    # Then it allows every route of the stage (API Gateway caches the policy per token) with the principal
    statement = result["policyDocument"]["Statement"][0]
    assert statement["Effect"] == "Allow"
    assert statement["Resource"].endswith("/dev/*/*")
    assert result["principalId"] == "alice"
    assert result["context"]["kind"] == "user"
    assert result["context"]["email_verified"] == "true"
    assert all(isinstance(v, str) for v in result["context"].values())


@pytest.mark.parametrize("header", ["", "Bearer ", "Basic abc", "Bearer not.a.token"])
def test_missing_or_malformed_tokens_are_unauthorized(idp, header):
    event = authorizer_event("x")
    event["headers"]["Authorization"] = header

    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorizer.handler(event, FakeContext())


def test_an_expired_token_is_unauthorized(idp):
    event = authorizer_event(idp.token("alice", exp=1))

    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorizer.handler(event, FakeContext())


JSON_VALUES = [
    None,
    True,
    False,
    0,
    123,
    1.5,
    "",
    "x" * 3000,
    [],
    ["admin"],
    [["admin"]],
    [{"role": "admin"}],
    {},
    {"admin": True},
]


def outcome(idp, aud="staff-console", **claims) -> str:
    """401, 403 or 200 as API Gateway would answer the authorizer's result; anything else fails the test."""
    sub = claims.pop("sub", "someone")
    try:
        result = authorizer.handler(authorizer_event(idp.token(sub, aud=aud, **claims)), FakeContext())
    except Exception as error:
        assert str(error) == "Unauthorized", repr(error)
        return "401"
    return "200" if result["policyDocument"]["Statement"][0]["Effect"] == "Allow" else "403"


@pytest.mark.parametrize("name", ["roles", "email", "phone_number", "email_verified", "phone_number_verified", "sub"])
@pytest.mark.parametrize("value", JSON_VALUES, ids=lambda v: repr(v)[:20])
def test_every_json_type_in_a_signed_claim_is_answered_never_crashed(idp, name, value):
    answer = outcome(idp, **{name: value}, org_id="org-1")

    accepted = (
        name in ("email_verified", "phone_number_verified")  # anything but JSON true just verifies nothing
        or (value is None and name != "sub")  # an absent claim
        or (name == "roles" and value in ([], ["admin"]))
        or (name == "sub" and isinstance(value, str) and 0 < len(value) <= 255)
    )
    assert answer == ("200" if accepted else "401")


def test_staff_claims_only_from_a_staff_client(idp):
    assert outcome(idp, aud="consumer-app", org_id="org-1", roles=["admin"]) == "403"
    assert outcome(idp, aud="consumer-app", roles=["admin"]) == "403"
    assert outcome(idp, aud="whitelabel-app", org_id="org-1") == "403"
    assert outcome(idp, aud="staff-console", org_id="org-1", roles=["admin"]) == "200"
    assert outcome(idp, aud="consumer-app") == "200"


def test_a_role_object_is_never_read_as_a_role(idp):
    assert outcome(idp, org_id="org-1", roles={"admin": True}) == "401"
