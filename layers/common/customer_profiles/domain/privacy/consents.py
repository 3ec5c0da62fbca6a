"""Consent with its provenance: what a customer said about each marketing purpose, when, through which
channel and, when someone captured it for them, who. The latest statement wins by the time it was said,
not by arrival; an older statement arriving later changes nothing (the answer is the current state)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from customer_profiles.clock import utc_now
from customer_profiles.domain.identity import profiles, users
from customer_profiles.domain.staff.access import acting_staff
from customer_profiles.errors import ConsentIsThePersons, Erased, InvalidInput, NotFound
from customer_profiles.models.consents import (
    ConsentSource,
    ConsentsRequest,
    ConsentsResponse,
    ConsentStatement,
    ConsentStatementRequest,
    StaffActorRole,
    consent_views,
    instant,
)
from customer_profiles.models.domain import Profile
from customer_profiles.models.principal import Principal
from customer_profiles.ports.privacy import ConsentReads, Consents
from customer_profiles.retry import on_concurrent_write

RECORDERS = frozenset({"admin", "pos"})  # staff who record what the customer said at the window
# A statement dated ahead of our clock would outrank every real one until that time: refused past the skew.
MAX_CLOCK_SKEW = timedelta(minutes=5)


def statements(
    requested: Sequence[ConsentStatementRequest],
    *,
    source: ConsentSource,
    actor_subject: str | None = None,
    actor_role: StaffActorRole | None = None,
    actor_partner_id: str | None = None,
    field_prefix: str = "consents",
) -> list[ConsentStatement]:
    """The statements as stored: said now unless the caller says when, never later than now (+ skew)."""
    now = utc_now()
    latest = datetime.now(UTC) + MAX_CLOCK_SKEW
    made = []
    for index, statement in enumerate(requested):
        if statement.stated_at is not None and statement.stated_at > latest:
            raise InvalidInput("stated_at is in the future", field=f"{field_prefix}.{index}.stated_at")
        made.append(
            ConsentStatement(
                purpose=statement.purpose,
                status=statement.status,
                stated_at=instant(statement.stated_at) if statement.stated_at else now,
                source=source,
                actor_subject=actor_subject,
                actor_role=actor_role,
                actor_partner_id=actor_partner_id,
                recorded_at=now,
            )
        )
    return made


def newer_than_stored(
    store: ConsentReads, profile: Profile, said: Sequence[ConsentStatement], *, new_profile: bool = False
) -> list[ConsentStatement]:
    """Those of `said` that beat the profile's current statements (one Query; none for a new profile, which
    has no statement yet). A sale writes them in its own transaction, each guarded (`data.consents`)."""
    if not said or new_profile:
        return list(said)
    current = store.consents_of(profile.org_id, profile.profile_id)
    return [s for s in said if s.beats(current.get(s.purpose))]


def set_my_consents(store: Consents, principal: Principal, org_id: str, request: ConsentsRequest) -> ConsentsResponse:
    """The person's own statements, through the consumer app or the org's white-label app."""
    source: ConsentSource = "white_label" if store.org_of_app_client(principal.client_id) == org_id else "app"
    said = statements(request.consents, source=source)

    def mine(user_id: str) -> ConsentsResponse:
        profile = profiles.user_profile_in_org(store, user_id, org_id)
        return _record(store, profile, said, with_actor=False, holder_status="active")

    return users.for_the_caller(store, principal, mine, stale_when=(NotFound,))


def my_consents(store: ConsentReads, profile: Profile) -> ConsentsResponse:
    current = store.consents_of(profile.org_id, profile.profile_id)
    return ConsentsResponse(
        org_id=profile.org_id, profile_id=profile.profile_id, consents=consent_views(current, with_actor=False)
    )


def record_by_staff(
    store: Consents, principal: Principal, org_id: str, profile_id: str, request: ConsentsRequest
) -> ConsentsResponse:
    """What the customer said at the window, recorded by staff `admin` or `pos` (who and in which role)."""
    store = acting_staff(store, principal, org_id, any_role=RECORDERS)
    profile = store.get_profile(org_id, profile_id)
    if profile is None or profile.merged_into:
        raise NotFound("no such profile")
    if profile.erased_at:
        raise Erased("this profile was erased: it takes no consent")
    holder = store.get_user(profile.user_id) if profile.user_id else None
    if holder is not None and holder.status != "dormant":
        raise ConsentIsThePersons("this customer has an account: they state their consents themselves")
    role: StaffActorRole = "admin" if "admin" in principal.roles_in(org_id) else "pos"
    said = statements(request.consents, source="pos", actor_subject=principal.subject, actor_role=role)
    return _record(store, profile, said, with_actor=True, holder_status="dormant" if holder else None)


def _record(
    store: Consents,
    profile: Profile,
    said: list[ConsentStatement],
    *,
    with_actor: bool,
    holder_status: str | None = None,
) -> ConsentsResponse:
    def attempt() -> ConsentsResponse:
        # A newer statement written meanwhile cancels the write: the next attempt reads it and leaves ours out.
        current = store.consents_of(profile.org_id, profile.profile_id)
        winners = [s for s in said if s.beats(current.get(s.purpose))]
        if winners:
            store.record_consents(profile, winners, holder_status=holder_status)
        current.update({s.purpose: s for s in winners})
        return ConsentsResponse(
            org_id=profile.org_id,
            profile_id=profile.profile_id,
            consents=consent_views(current, with_actor=with_actor),
        )

    return on_concurrent_write(attempt, give_up="the consents kept conflicting with concurrent changes; retry")
