"""Pending effects: items and models."""

from __future__ import annotations

from customer_profiles.data import keys
from customer_profiles.data.codec.base import Item, model_from_item
from customer_profiles.models.domain import PendingEffect


def pending_to_item(effect: PendingEffect) -> Item:
    return {
        **keys.pending_key(effect.kind, effect.effect_id),
        "type": "pending",
        **effect.model_dump(mode="json"),
        **keys.pending_index_keys(effect.kind, effect.effect_id, effect.created_at),
    }


def pending_from_item(item: Item) -> PendingEffect:
    return model_from_item(PendingEffect, item)
