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
