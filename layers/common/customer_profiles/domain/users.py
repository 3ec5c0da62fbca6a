"""Platform users: registration from the identity provider's verified claims."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from customer_profiles.data.store import Store
from customer_profiles.data.users import RegistrationWrite, identifiers_of
from customer_profiles.domain.identifiers import verified_identifiers
from customer_profiles.errors import ConcurrentWrite, Forbidden, IdTokenRequired, NotFound
from customer_profiles.models.domain import Identifier, User
from customer_profiles.models.principal import Principal
from customer_profiles.retry import on_concurrent_write


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_id() -> str:
    return uuid.uuid4().hex


def _require_user_principal(principal: Principal) -> None:
    if principal.kind != "user":
        raise Forbidden("staff tokens have no platform user")


def current_user_id(store: Store, principal: Principal) -> str:
    """The platform user of a user token: the one the authorizer found, else one read (the token's user may
    have registered since the authorizer's answer was cached); registering with PUT /v1/me comes first."""
    _require_user_principal(principal)
    if principal.user_id:
        return principal.user_id
    user_id = store.user_id_for_subject(principal.subject)
    if user_id is None:
        raise NotFound("no user is registered for this token yet: call PUT /v1/me")
    return user_id


def get_me(store: Store, principal: Principal) -> User:
    user = store.get_user(current_user_id(store, principal))
    if user is None:
        raise NotFound("no user is registered for this token yet: call PUT /v1/me")
    return user


def register_me(store: Store, principal: Principal) -> tuple[User, bool]:
    """The platform user of the token's subject: returned, created, or activated; returns (user, created).

    Only what the identity provider verified counts (docs/decisions.md, identity policy). Dormant users
    holding a verified identifier as a hint become the person's: the first becomes their active user (when
    they have none yet), the others are merged into it and their profiles follow (link tasks). The person
    holds exactly the identifiers they verified: those nobody held, and those taken over from the dormant
    users; the dormant users' other hints are released, so that their owners can claim them later.
    Identifiers another active user verified are left alone. One transaction guarded by each user's state
    and each identifier's holder, so concurrent activations have one outcome.
    """
    _require_user_principal(principal)
    if principal.token_use == "access":  # it proves the subject, but carries no verified identifiers
        user_id = store.user_id_for_subject(principal.subject)
        user = store.get_user(user_id) if user_id else None
        if user is None:
            raise IdTokenRequired("registering needs an ID token: an access token carries no verified identifiers")
        return user, False
    identifiers = verified_identifiers(principal.verified_email, principal.verified_phone)
    return on_concurrent_write(
        lambda: _register_once(store, principal, identifiers),  # a concurrent registration won: read again
        give_up="registration kept conflicting with concurrent changes; retry",
    )


def _register_once(store: Store, principal: Principal, identifiers: list[Identifier]) -> tuple[User, bool]:
    holders = store.identifier_holders(identifiers)
    own_id = store.user_id_for_subject(principal.subject)
    known = store.users_by_ids([*(h.user_id for h in holders.values()), *([own_id] if own_id else [])])
    own = known.get(own_id) if own_id else None
    if own_id and own is None:
        raise ConcurrentWrite("subject points at a user being written")
    dormant = [
        known[u]
        for u in dict.fromkeys(holders[i].user_id for i in identifiers if i in holders)
        if u in known and known[u].status == "dormant"
    ]
    free = [i for i in identifiers if i not in holders]
    now = utc_now()
    if own is not None and not (free or dormant):
        return own, False

    created = own is None
    if own is not None:
        survivor, current = own, own
    elif dormant:
        current = dormant.pop(0)
        # A dormant user's email and phone were hints: from now on it shows only what the person verified.
        survivor = current.model_copy(
            update={"status": "active", "subject": principal.subject, "email": None, "phone": None}
        )
    else:
        current = None
        survivor = User(user_id=new_id(), status="active", subject=principal.subject, created_at=now, updated_at=now)
    dormant_holders = {d.user_id for d in dormant} | (
        {current.user_id} if current and current.status == "dormant" else set()
    )
    taken_over = [
        (i, holders[i].user_id) for i in identifiers if i in holders and holders[i].user_id in dormant_holders
    ]
    released = [
        (i, d.user_id)
        for d in (known[u] for u in sorted(dormant_holders))
        for i in identifiers_of(d)
        if i not in identifiers
    ]
    held = dict([*free, *(i for i, _ in taken_over)])
    survivor = survivor.model_copy(
        update={
            "email": held.get("email", survivor.email),
            "phone": held.get("phone", survivor.phone),
            "updated_at": now,
            "version": survivor.version + (0 if current is None else 1),
        }
    )
    store.write_registration(
        RegistrationWrite(
            subject=principal.subject if created else None,
            previous=current,
            user=survivor,
            claimed_identifiers=free,
            taken_over=taken_over,
            released=released,
            merged=[
                (
                    m,
                    m.model_copy(
                        update={
                            "status": "merged",
                            "merged_into": survivor.user_id,
                            # its identifiers were taken over or released: the merged user keeps none
                            "email": None,
                            "phone": None,
                            "updated_at": now,
                            "version": m.version + 1,
                        }
                    ),
                )
                for m in dormant
            ],
        )
    )
    return survivor, created
