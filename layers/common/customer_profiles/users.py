"""Platform users: registration from the identity provider's verified claims."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from customer_profiles.dal import Identifier, ProfileStore
from customer_profiles.errors import Conflict, Forbidden, NotFound
from customer_profiles.identifiers import verified_identifiers
from customer_profiles.identity import Principal
from customer_profiles.models import User


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_id() -> str:
    return uuid.uuid4().hex


def _require_user_principal(principal: Principal) -> None:
    if principal.kind != "user":
        raise Forbidden("staff tokens have no platform user")


def current_user_id(store: ProfileStore, principal: Principal) -> str:
    """The platform user of a user token (one read); registering with PUT /v1/me comes first."""
    _require_user_principal(principal)
    user_id = store.user_id_for_subject(principal.subject)
    if user_id is None:
        raise NotFound("no user is registered for this token yet: call PUT /v1/me")
    return user_id


def get_me(store: ProfileStore, principal: Principal) -> User:
    user = store.get_user(current_user_id(store, principal))
    if user is None:
        raise NotFound("no user is registered for this token yet: call PUT /v1/me")
    return user


def register_me(store: ProfileStore, principal: Principal, *, attempts: int = 3) -> tuple[User, bool]:
    """Create the platform user for the token's subject, or return it; returns (user, created).

    Verified identifiers nobody holds are attached to the user. Identifiers held by another user are
    left to activation (a dormant holder) or untouched (an active one).
    """
    _require_user_principal(principal)
    identifiers = verified_identifiers(principal.verified_email, principal.verified_phone)
    for _ in range(attempts):
        try:
            return _register_once(store, principal, identifiers)
        except Conflict:
            continue  # a concurrent registration or identifier claim won: read again
    raise Conflict("registration kept conflicting with concurrent changes; retry")


def _register_once(store: ProfileStore, principal: Principal, identifiers: list[Identifier]) -> tuple[User, bool]:
    holders = store.identifier_holders(identifiers)
    now = utc_now()
    user_id = store.user_id_for_subject(principal.subject)
    if user_id:
        user = store.get_user(user_id)
        if user is None:
            raise Conflict("subject points at a user being written")
        free = [i for i in identifiers if i not in holders]
        if not free:
            return user, False
        updated = user.model_copy(
            update={
                "email": user.email or next((v for k, v in free if k == "email"), None),
                "phone": user.phone or next((v for k, v in free if k == "phone"), None),
                "updated_at": now,
                "version": user.version + 1,
            }
        )
        store.add_identifiers(user, updated, free)
        return updated, False

    free = [i for i in identifiers if i not in holders]
    user = User(
        user_id=new_id(),
        status="active",
        subject=principal.subject,
        email=next((v for k, v in free if k == "email"), None),
        phone=next((v for k, v in free if k == "phone"), None),
        created_at=now,
        updated_at=now,
    )
    store.create_registered_user(user, free)
    return user, True
