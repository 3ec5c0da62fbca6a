"""Sign-up and sign-in (PUT /v1/me): the platform user and, through a white-label app, its org profile."""

from __future__ import annotations

from dataclasses import dataclass

from customer_profiles.domain.identity import profiles, users
from customer_profiles.errors import ConcurrentWrite
from customer_profiles.models.activity import CUSTOMER
from customer_profiles.models.domain import Profile, User
from customer_profiles.models.principal import Principal
from customer_profiles.ports.identity import SignUps


@dataclass(frozen=True)
class Registration:
    user: User
    created: bool
    profile: Profile | None


def register(store: SignUps, principal: Principal) -> Registration:
    user, created = users.register_me(store, principal)
    org_id = store.org_of_app_client(principal.client_id)
    if org_id is None:
        return Registration(user, created, None)
    profile_id, _ = profiles.ensure_user_profile(
        store,
        user.user_id,
        org_id,
        origin="white_label",
        seed=profiles.attributes_from_claims(principal.profile_claims),
        changed_by=CUSTOMER,
    )
    profile = store.get_profile(org_id, profile_id)
    if profile is None:
        raise ConcurrentWrite("the profile is being written; retry")
    return Registration(user, created, profile)
