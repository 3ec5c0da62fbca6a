"""Moves (lineage): items and models. The item carries the table's TTL attribute (`expiration`, epoch
seconds); the model reads it back as `expires_at`."""

from __future__ import annotations

from datetime import UTC, datetime

from customer_profiles.data import keys
from customer_profiles.data.codec.base import Item, model_from_item
from customer_profiles.models.domain import Move


def move_to_item(move: Move, expiration: int) -> Item:
    return {
        **keys.move_key(move.org_id, move.profile_id, move.subject, move.move_id, move.order_id),
        "type": "move",
        **move.model_dump(mode="json", exclude_none=True, exclude={"expires_at"}),
        "expiration": expiration,  # the table's TTL attribute: DynamoDB deletes it once the retention passed
    }


def move_from_item(item: Item) -> Move:
    move = model_from_item(Move, item)
    expiration = item.get("expiration")
    if expiration is None:
        return move
    expires = datetime.fromtimestamp(int(expiration), UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return move.model_copy(update={"expires_at": expires})
