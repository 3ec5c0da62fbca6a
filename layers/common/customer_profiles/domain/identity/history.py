"""A user's view across orgs: their profiles and their transaction history, newest first."""

from __future__ import annotations

from customer_profiles.domain.identity import users
from customer_profiles.models.api import HistoryEntry, HistoryResponse, ProfileListResponse, ProfileSummary
from customer_profiles.models.domain import Entitlement, Order
from customer_profiles.models.principal import Principal
from customer_profiles.ports.identity import UserHistory


def profiles_of_me(store: UserHistory, principal: Principal, *, limit: int, cursor: str | None) -> ProfileListResponse:
    user_id = users.current_user_id(store, principal)
    found, next_cursor = store.profiles_of_user(user_id, limit=limit, cursor=cursor)
    if not found and not cursor and principal.user_id and (fresh := users.fresh_user_id(store, principal)):
        found, next_cursor = store.profiles_of_user(fresh, limit=limit, cursor=cursor)
    return ProfileListResponse(profiles=[ProfileSummary.of(p) for p in found], next_cursor=next_cursor)


def history_of_me(
    store: UserHistory, principal: Principal, *, org_id: str | None, limit: int, cursor: str | None
) -> HistoryResponse:
    """One page of the caller's history. A first page found empty for the user the authorizer's cached answer
    named is checked once: an erased user has no history, and the subject may have signed up again since."""
    user_id = users.current_user_id(store, principal)
    found, next_cursor = store.history_of_user(user_id, org_id=org_id, limit=limit, cursor=cursor)
    if not found and not cursor and principal.user_id and (fresh := users.fresh_user_id(store, principal)):
        found, next_cursor = store.history_of_user(fresh, org_id=org_id, limit=limit, cursor=cursor)
    return HistoryResponse(entries=history_entries(found), next_cursor=next_cursor)


def history_entries(found: list[Order | Entitlement]) -> list[HistoryEntry]:
    return [
        HistoryEntry(type="order", org_id=e.org_id, created_at=e.created_at, order=e)
        if isinstance(e, Order)
        else HistoryEntry(type="entitlement", org_id=e.org_id, created_at=e.created_at, entitlement=e)
        for e in found
    ]
