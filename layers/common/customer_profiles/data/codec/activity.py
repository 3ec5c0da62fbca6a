"""The activity trails, a profile's and an org's own: items and models."""

from __future__ import annotations

from customer_profiles.data import keys
from customer_profiles.data.codec.base import Item, model_from_item
from customer_profiles.models.activity import ActivityEntry


def activity_to_item(org_id: str, profile_id: str, entry: ActivityEntry, record_id: str, index: int) -> Item:
    return {
        **keys.activity_key(org_id, profile_id, entry.at, record_id, index),
        "type": "activity",
        "org_id": org_id,
        "profile_id": profile_id,
        **entry.model_dump(mode="json", exclude_none=True),
    }


def activity_from_item(item: Item) -> ActivityEntry:
    return model_from_item(ActivityEntry, item)


def org_activity_to_item(org_id: str, entry: ActivityEntry, record_id: str, index: int) -> Item:
    return {
        **keys.org_activity_key(org_id, entry.at, record_id, index),
        "type": "org_activity",
        "org_id": org_id,
        **entry.model_dump(mode="json", exclude_none=True),
    }
