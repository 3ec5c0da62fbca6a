import pytest

from customer_profiles.domain.identity import users
from customer_profiles.errors import Forbidden, NotFound
from customer_profiles.models.domain import Holding
from tests.unit.conftest import staff_principal, user_principal


def test_register_creates_an_active_user_holding_the_verified_identifiers(store):
    principal = user_principal(
        email="Alice@Example.COM", email_verified=True, phone_number="+44 7911 123456", phone_number_verified=True
    )

    user, created = users.register_me(store, principal)

    assert created
    assert (user.status, user.email, user.phone) == ("active", "alice@example.com", "+447911123456")
    assert store.identifier_holders([("email", "alice@example.com"), ("phone", "+447911123456")]) == {
        ("email", "alice@example.com"): Holding(user_id=user.user_id, provenance="verified"),
        ("phone", "+447911123456"): Holding(user_id=user.user_id, provenance="verified"),
    }


def test_register_twice_returns_the_same_user(store):
    principal = user_principal(email="bob@example.com", email_verified=True)

    first, _ = users.register_me(store, principal)
    second, created = users.register_me(store, principal)

    assert not created
    assert second.user_id == first.user_id


def test_unverified_identifiers_are_not_attached(store):
    principal = user_principal(email="carol@example.com", email_verified=False)

    user, _ = users.register_me(store, principal)

    assert user.email is None
    assert store.identifier_holders([("email", "carol@example.com")]) == {}


def test_an_identifier_another_user_holds_is_not_taken(store):
    first, _ = users.register_me(store, user_principal(email="dave@example.com", email_verified=True))

    second, _ = users.register_me(store, user_principal(email="dave@example.com", email_verified=True))

    assert second.user_id != first.user_id
    assert second.email is None
    assert store.identifier_holders([("email", "dave@example.com")]) == {
        ("email", "dave@example.com"): Holding(user_id=first.user_id, provenance="verified")
    }


def test_a_newly_verified_identifier_is_attached_on_the_next_registration(store):
    subject = "erin"
    user, _ = users.register_me(store, user_principal(subject, email="erin@example.com", email_verified=True))

    updated, created = users.register_me(
        store,
        user_principal(
            subject,
            email="erin@example.com",
            email_verified=True,
            phone_number="+14155550123",
            phone_number_verified=True,
        ),
    )

    assert not created
    assert (updated.user_id, updated.phone, updated.version) == (user.user_id, "+14155550123", 2)
    assert store.get_user(user.user_id) == updated


def test_get_me_before_registering_is_not_found(store):
    with pytest.raises(NotFound):
        users.get_me(store, user_principal())


def test_staff_tokens_have_no_platform_user(store):
    staff = staff_principal(None, "org-1", "pos")

    with pytest.raises(Forbidden):
        users.register_me(store, staff)
