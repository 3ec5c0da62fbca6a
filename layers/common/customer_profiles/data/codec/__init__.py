"""Between stored items and models: the only place that turns an item into a model and back.

One module per feature; this package re-exports every public name, and the cursor helpers of
`customer_profiles.data.cursors`, so that callers keep one import path (`codec.profile_from_item`).
"""

from customer_profiles.data.codec.activity import activity_from_item, activity_to_item, org_activity_to_item
from customer_profiles.data.codec.base import Item, model_from_item, plain
from customer_profiles.data.codec.consents import consent_from_item, consent_to_item
from customer_profiles.data.codec.effects import pending_from_item, pending_to_item
from customer_profiles.data.codec.identity import (
    held_identifier_to_item,
    holding_from_item,
    identifier_to_item,
    profile_from_item,
    profile_to_item,
    user_from_item,
    user_to_item,
)
from customer_profiles.data.codec.lineage import move_from_item, move_to_item
from customer_profiles.data.codec.sales import (
    child_from_item,
    child_to_item,
    claim_from_item,
    entitlement_from_item,
    entitlement_to_item,
    order_from_item,
    order_to_item,
    partner_from_item,
    receipt_from_item,
    receipt_to_item,
)
from customer_profiles.data.codec.staff import (
    membership_from_item,
    membership_to_items,
    settings_from_item,
    settings_to_item,
)
from customer_profiles.data.cursors import (
    PARTITION_KEY_BYTES,
    SORT_KEY_BYTES,
    decode_cursor,
    decode_key_cursor,
    encode_cursor,
    is_key_value,
)

__all__ = [
    "PARTITION_KEY_BYTES",
    "SORT_KEY_BYTES",
    "Item",
    "activity_from_item",
    "activity_to_item",
    "child_from_item",
    "child_to_item",
    "claim_from_item",
    "consent_from_item",
    "consent_to_item",
    "decode_cursor",
    "decode_key_cursor",
    "encode_cursor",
    "entitlement_from_item",
    "entitlement_to_item",
    "held_identifier_to_item",
    "holding_from_item",
    "identifier_to_item",
    "is_key_value",
    "membership_from_item",
    "membership_to_items",
    "model_from_item",
    "move_from_item",
    "move_to_item",
    "order_from_item",
    "order_to_item",
    "org_activity_to_item",
    "partner_from_item",
    "pending_from_item",
    "pending_to_item",
    "plain",
    "profile_from_item",
    "profile_to_item",
    "receipt_from_item",
    "receipt_to_item",
    "settings_from_item",
    "settings_to_item",
    "user_from_item",
    "user_to_item",
]
