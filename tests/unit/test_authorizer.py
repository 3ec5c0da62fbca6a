import json
from pathlib import Path

import pytest

import authorizer
from customer_profiles.domain.staff import memberships
from customer_profiles.models.principal import Principal
from tests.support.tokens import AUDIENCES, ISSUER, FakeIdp
from tests.unit.conftest import EVENTS_DIR, FakeContext

CACHES = (authorizer.verifier, authorizer.config.settings, authorizer.store)


def configure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeIdp:
    """The authorizer's settings pointing at a test identity provider (and the `aws` fixture's table)."""
    idp = FakeIdp.create(tmp_path)
    monkeypatch.setenv("IDP_ISSUER", ISSUER)
    monkeypatch.setenv("IDP_AUDIENCES", ",".join(AUDIENCES))
    monkeypatch.setenv("IDP_JWKS_URL", idp.jwks_url)
    monkeypatch.setenv("STAFF_CLIENT_IDS", "staff-console")
    for cache in CACHES:
        cache.cache_clear()
    return idp


@pytest.fixture
def idp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, aws) -> FakeIdp:
    yield configure(tmp_path, monkeypatch)
    for cache in CACHES:
        cache.cache_clear()


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


@pytest.mark.parametrize(
    "name", ["roles", "org_id", "email", "phone_number", "email_verified", "phone_number_verified", "sub"]
)
@pytest.mark.parametrize("value", JSON_VALUES, ids=lambda v: repr(v)[:20])
def test_every_json_type_in_a_signed_claim_is_answered_never_crashed(idp, name, value):
    answer = outcome(idp, **{name: value})

    accepted = (
        name in ("email_verified", "phone_number_verified", "roles", "org_id")  # never read as proof or rights
        or (value is None and name != "sub")  # an absent claim
        or (name == "sub" and isinstance(value, str) and 0 < len(value) <= 255)
    )
    assert answer == ("200" if accepted else "401")


def principal_of(result: dict) -> Principal:
    return Principal.from_context(result["context"])


def authorize(idp, sub: str, aud: str, **claims) -> Principal:
    return principal_of(authorizer.handler(authorizer_event(idp.token(sub, aud=aud, **claims)), FakeContext()))


def test_claims_grant_no_staff_role_from_any_client(idp, store):
    for aud in ("consumer-app", "whitelabel-app", "staff-console"):
        principal = authorize(idp, "mallory", aud, org_id="org-1", roles=["admin"], **{"cognito:groups": ["admin"]})
        assert principal.roles_in("org-1") == frozenset(), aud


def test_staff_rights_come_from_memberships_and_only_through_a_staff_client(idp, store):
    memberships.grant(store, "org-1", "bob", ["admin"])
    memberships.grant(store, "org-2", "bob", ["pos", "viewer"])

    staff = authorize(idp, "bob", "staff-console")
    same_person_in_the_consumer_app = authorize(idp, "bob", "consumer-app")

    assert staff.memberships == {"org-1": frozenset({"admin"}), "org-2": frozenset({"pos", "viewer"})}
    assert same_person_in_the_consumer_app.kind == "user"
    assert same_person_in_the_consumer_app.roles_in("org-1") == frozenset()


def test_a_revoked_membership_is_gone_from_the_next_authorization(idp, store):
    memberships.grant(store, "org-1", "bob", ["admin"])
    memberships.grant(store, "org-1", "carol", ["admin"])
    memberships.revoke(store, "org-1", "bob")

    assert authorize(idp, "bob", "staff-console").memberships == {}


def test_client_credentials_are_unauthorized(idp):
    assert outcome(idp, sub="staff-console", aud="staff-console") == "401"
    assert outcome(idp, sub="consumer-app", aud=None, client_id="consumer-app", token_use="access") == "401"


def test_a_registered_users_context_carries_their_platform_user_id_and_a_new_ones_none(idp):
    from customer_profiles.data.store import Store
    from customer_profiles.domain.identity import users
    from tests.unit.conftest import TABLES, user_principal

    token = idp.token("carol", aud="consumer-app", email="carol@example.com", email_verified=True)
    before = authorizer.handler(authorizer_event(token), FakeContext())["context"]
    registered, _ = users.register_me(
        Store(TABLES["ProfilesTable"]), user_principal("carol", email="carol@example.com", email_verified=True)
    )
    after = authorizer.handler(authorizer_event(token), FakeContext())["context"]

    assert (before["user_id"], after["user_id"]) == ("", registered.user_id)
    assert Principal.from_context(after).user_id == registered.user_id
