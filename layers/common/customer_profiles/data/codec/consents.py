"""Consent statements: items and models."""

from __future__ import annotations

from customer_profiles.data import keys
from customer_profiles.data.codec.base import Item
from customer_profiles.models.activity import Actor
from customer_profiles.models.consents import ConsentStatement


def consent_to_item(
    org_id: str, profile_id: str, statement: ConsentStatement, *, moved: tuple[str, Actor] | None = None
) -> Item:
    """A purpose's current statement; its stream image says what changed, how and by whom (the activity
    trail reads it), and `rank` is what a later write is compared with. `moved`: (when, by whom) a merge
    brought it here from another profile, which is when the change happened to this one."""
    return {
        **keys.consent_key(org_id, profile_id, statement.purpose),
        "type": "consent",
        "org_id": org_id,
        "profile_id": profile_id,
        **statement.model_dump(exclude_none=True),
        "statement_id": statement.statement_id,
        "rank": statement.rank,
        **({"changed_at": moved[0], "changed_by": moved[1].stamp()} if moved else {}),
    }


def consent_from_item(item: Item) -> ConsentStatement:
    return ConsentStatement.model_validate({k: v for k, v in item.items() if k in ConsentStatement.model_fields})
