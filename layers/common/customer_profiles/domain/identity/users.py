"""Platform users: registration from the identity provider's verified claims."""

from __future__ import annotations

from collections.abc import Callable

from customer_profiles.clock import new_id, utc_now
from customer_profiles.domain.identity.identifiers import identifier_of, verified_identifiers
from customer_profiles.errors import ConcurrentWrite, Forbidden, IdTokenRequired, NotFound, UserGone
from customer_profiles.models.domain import Holding, Identifier, Proof, User
from customer_profiles.models.principal import Principal
from customer_profiles.ports.identity import Registrations, RegistrationWrite, SubjectUsers, identifiers_of
from customer_profiles.retry import on_concurrent_write


def require_user_principal(principal: Principal) -> None:
    if principal.kind != "user":
        raise Forbidden("staff tokens have no platform user")


def current_user_id(store: SubjectUsers, principal: Principal) -> str:
    """The platform user of a user token: the one the authorizer found, else one read (the token's user may
    have registered since the authorizer's answer was cached); registering with PUT /v1/me comes first."""
    require_user_principal(principal)
    if principal.user_id:
        return principal.user_id
    user_id = store.user_id_for_subject(principal.subject)
    if user_id is None:
        raise NotFound("no user is registered for this token yet: call PUT /v1/me")
    return user_id


def for_the_caller[T](
    store: SubjectUsers, principal: Principal, act: Callable[[str], T], *, stale_when: tuple[type[Exception], ...] = ()
) -> T:
    """`act` for the caller's user. The authorizer's answer (cached with the policy for minutes) names it; a
    write acting for it checks that it is still an active user, and raises UserGone if not (erased since, the
    subject signed up again); `stale_when`: other errors a stale id causes (a profile it no longer has). Then
    the subject's user is read again, and `act` runs for it, once."""
    user_id = current_user_id(store, principal)
    stale: tuple[type[Exception], ...] = (UserGone, *stale_when)
    try:
        return act(user_id)
    except stale:
        fresh = store.user_id_for_subject(principal.subject)
        if fresh is None or fresh == user_id:
            raise NotFound("no user is registered for this token: call PUT /v1/me") from None
        return act(fresh)


def fresh_user_id(store: SubjectUsers, principal: Principal) -> str | None:
    """The subject's user read again, when it is not the one the authorizer's cached answer named (None when
    that one still stands)."""
    fresh = store.user_id_for_subject(principal.subject)
    return fresh if fresh and fresh != principal.user_id else None


def caller_user(store: SubjectUsers, principal: Principal) -> User | None:
    """The caller's user as the table has it now: the one the authorizer named if it is still there and
    still the subject's, else the subject's user read again (strongly consistent)."""
    require_user_principal(principal)
    if principal.user_id:
        user = store.get_user(principal.user_id)
        if user is not None and user.status == "active" and user.subject == principal.subject:
            return user
    user_id = store.user_id_for_subject(principal.subject)
    return store.get_user(user_id) if user_id else None


def get_me(store: SubjectUsers, principal: Principal) -> User:
    user = caller_user(store, principal)
    if user is None:
        raise NotFound("no user is registered for this token yet: call PUT /v1/me")
    return user


def register_me(store: Registrations, principal: Principal) -> tuple[User, bool]:
    """The platform user of the token's subject: returned, created, or activated; returns (user, created).

    Only what the identity provider verified counts (docs/decisions.md, identity policy). Dormant users
    holding a verified identifier as a hint become the person's: the first becomes their active user (when
    they have none yet), the others are merged into it and their profiles follow (link tasks). The person
    holds exactly the identifiers they verified: those nobody held, and those taken over from the dormant
    users; the dormant users' other hints are released, so that their owners can claim them later.
    Identifiers another active user verified are left alone. One transaction guarded by each user's state
    and each identifier's holder, so concurrent activations have one outcome.
    """
    require_user_principal(principal)
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


def _register_once(store: Registrations, principal: Principal, identifiers: list[Identifier]) -> tuple[User, bool]:
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
    current, survivor = _survivor(own, dormant, principal.subject, now)
    plan = _registration(
        current,
        survivor,
        identifiers,
        holders,
        known,
        subject=principal.subject if own is None else None,
        free=free,
        merging=dormant if own is not None else dormant[1:],
        now=now,
    )
    store.write_registration(plan)
    return plan.user, own is None


def _survivor(own: User | None, dormant: list[User], subject: str, now: str) -> tuple[User | None, User]:
    """(the stored user that becomes the person's, as read; the person's user before this registration's
    identifiers): their own, else the first dormant holder of what they verified, activated, else a new one."""
    if own is not None:
        return own, own
    if dormant:
        current = dormant[0]
        # A dormant user's email and phone were hints: from now on it shows only what the person verified.
        activated = current.model_copy(
            update={"status": "active", "subject": subject, "email": None, "phone": None, "activated_at": now}
        )
        return current, activated
    return None, User(user_id=new_id(), status="active", subject=subject, created_at=now, updated_at=now)


def _registration(
    current: User | None,
    survivor: User,
    identifiers: list[Identifier],
    holders: dict[Identifier, Holding],
    known: dict[str, User],
    *,
    subject: str | None,
    free: list[Identifier],
    merging: list[User],
    now: str,
) -> RegistrationWrite:
    """What the person's registration writes: their user showing what they verified, the identifiers nobody
    held, those taken over from dormant holders, the dormant holders' other hints released, and every other
    dormant holder merged into them."""
    dormant_holders = {d.user_id for d in merging} | (
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
    return RegistrationWrite(
        subject=subject,
        previous=current,
        user=survivor,
        claimed_identifiers=free,
        taken_over=taken_over,
        released=released,
        merged=[(m, _merged(m, survivor.user_id, now)) for m in merging],
    )


def _merged(dormant: User, into: str, now: str) -> User:
    return dormant.model_copy(
        update={
            "status": "merged",
            "merged_into": into,
            "merged_at": now,
            # its identifiers were taken over or released: the merged user keeps none
            "email": None,
            "phone": None,
            "updated_at": now,
            "version": dormant.version + 1,
        }
    )


def my_identifiers(store: Registrations, principal: Principal) -> list[tuple[Identifier, Proof]]:
    """Every identifier the caller's user holds, with how and when it was proven (whatever GET /v1/me shows)."""
    return store.identifiers_held_by(get_me(store, principal).user_id)


def release_my_identifier(store: Registrations, principal: Principal, kind: str, value: str) -> None:
    """The caller no longer holds the identifier: a later sale typed with it goes to a dormant holder again
    (whoever proves it next); what it already brought stays. 404 when the caller does not hold it."""
    identifier = identifier_of(kind, value)

    def once() -> None:
        user = get_me(store, principal)
        held = {i for i, _ in store.identifiers_held_by(user.user_id)}
        if identifier not in held:
            raise NotFound("your account does not hold this identifier")
        shown = {"email": user.email, "phone": user.phone}
        update = {kind: None} if shown.get(kind) == identifier[1] else {}
        after = user.model_copy(update={**update, "updated_at": utc_now(), "version": user.version + 1})
        store.release_identifiers(user, after, [identifier])

    on_concurrent_write(once, give_up="your account kept changing; retry")
