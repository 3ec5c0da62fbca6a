"""One reading of a DynamoDB stream record: the typed change it carries (`ports.effects.StreamChange`).

Only here are a record's keys and images read: the images become plain values (`stream_images`), then the
models of their kind (older item shapes converted by the same codec that reads the table), the keys become
org and profile ids, and the writer's `changed_by` stamp an `Actor`. A pending effect that is not one fails
its record (the work must not be lost); any other item that is not a model of its kind is an `OtherChange`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from pydantic import BaseModel, ValidationError

from customer_profiles.data import keys
from customer_profiles.data.codec import (
    claim_from_item,
    consent_from_item,
    entitlement_from_item,
    move_from_item,
    order_from_item,
    profile_from_item,
    receipt_from_item,
    settings_from_item,
    user_from_item,
)
from customer_profiles.data.pending import read_pending
from customer_profiles.data.stream_images import plain_image, record_identity
from customer_profiles.models.activity import Actor
from customer_profiles.models.consents import ConsentStatement
from customer_profiles.ports.effects import (
    ClaimChanged,
    ClaimTimes,
    ConsentChanged,
    EntitlementChanged,
    Event,
    ItemKey,
    MoveKept,
    OrderChanged,
    OrgSettingsChanged,
    OtherChange,
    PendingEffectAdded,
    ProfileChanged,
    ReceiptChanged,
    StreamChange,
    StreamRecord,
    UserChanged,
)

Image = dict[str, Any]
EVENTS: frozenset[str] = frozenset({"INSERT", "MODIFY", "REMOVE"})


def read_record(record: dict[str, Any]) -> StreamRecord:
    """The record as Lambda (or the local runtime) delivers it: its id, its time and its change."""
    raw = record.get("dynamodb") or {}
    record_id, record_time = record_identity(record)
    change = read_change(
        str(record.get("eventName")), plain_image(raw.get("OldImage")), plain_image(raw.get("NewImage"))
    )
    return StreamRecord(record_id, record_time, change)


def read_change(event_name: str, old: Image | None, new: Image | None) -> StreamChange:
    """The change between two plain images of one item (None where there is none)."""
    image = new or old
    if not image or event_name not in EVENTS:
        return OtherChange(event_name)
    pk, sk = image.get("pk"), image.get("sk")
    if not isinstance(pk, str) or not isinstance(sk, str):
        return OtherChange(event_name)
    key = ItemKey(pk, sk)
    event = cast(Event, event_name)
    if sk == keys.PENDING_SK and image.get("type") == "pending":
        if event == "INSERT" and new:
            return PendingEffectAdded(read_pending(new))  # raises for what is no pending effect
        return OtherChange(event_name, key)
    try:
        return _item_change(event, key, old, new) or OtherChange(event_name, key)
    except ValidationError as error:
        return OtherChange(event_name, key, unreadable=f"{error.error_count()} invalid fields")


def _item_change(event: Event, key: ItemKey, old: Image | None, new: Image | None) -> StreamChange | None:
    pk, sk = key.pk, key.sk
    org_of_settings = keys.org_of_settings_key(pk, sk)
    if org_of_settings:
        return OrgSettingsChanged(**_sides(event, key, old, new, settings_from_item), org_id=org_of_settings)
    owner = keys.profile_of_pk(pk)
    if owner:
        return _profile_item(event, key, old, new, owner)
    if pk.startswith(keys.CLAIM_PREFIX) and sk == keys.CLAIM_SK:
        return ClaimChanged(**_sides(event, key, old, new, claim_from_item), times=_claim_times(new))
    if pk.startswith(keys.USER_PREFIX) and sk == keys.USER_SK:
        return UserChanged(**_sides(event, key, old, new, user_from_item))
    if pk.startswith(keys.RECEIPT_PREFIX) and sk == keys.RECEIPT_SK:
        sides = _sides(event, key, old, new, receipt_from_item)
        receipt = sides["new"] or sides["old"]
        sale = keys.order_key(receipt.org_id, receipt.profile_id, receipt.created_at, receipt.order_id)
        return ReceiptChanged(**sides, order_key=ItemKey(sale["pk"], sale["sk"]))
    return None


def _profile_item(
    event: Event, key: ItemKey, old: Image | None, new: Image | None, owner: tuple[str, str]
) -> StreamChange | None:
    """An item in a profile's partition: the profile itself, an order, an entitlement, a consent statement, a
    move kept in its lineage."""
    org_id, profile_id = owner
    sk = key.sk
    if sk == keys.PROFILE_SK:
        return ProfileChanged(**_sides(event, key, old, new, profile_from_item), org_id=org_id, profile_id=profile_id)
    if sk.startswith(keys.ORDER_SK_PREFIX):
        moved_from = _text((new or {}).get("moved_from"))
        sides = _sides(event, key, old, new, order_from_item)
        return OrderChanged(**sides, org_id=org_id, profile_id=profile_id, moved_from=moved_from)
    if sk.startswith(keys.ENTITLEMENT_SK_PREFIX):
        changed_at = _text((new or {}).get("status_changed_at"))
        sides = _sides(event, key, old, new, entitlement_from_item)
        return EntitlementChanged(**sides, org_id=org_id, profile_id=profile_id, status_changed_at=changed_at)
    if sk.startswith(keys.MOVE_SK_PREFIX):
        return MoveKept(**_sides(event, key, old, new, move_from_item))
    if sk.startswith(keys.CONSENT_SK_PREFIX):
        purpose = sk.removeprefix(keys.CONSENT_SK_PREFIX)
        return ConsentChanged(
            **_sides(event, key, old, new, lambda item: _consent(item, purpose)),
            org_id=org_id,
            profile_id=profile_id,
            purpose=purpose,
            changed_at=_text((new or old or {}).get("changed_at")),
        )
    return None


def _sides[M: BaseModel](
    event: Event, key: ItemKey, old: Image | None, new: Image | None, model_of: Callable[[Image], M]
) -> dict[str, Any]:
    """The fields every change has: its images as models and the actor stamped on the newest."""
    return {
        "event": event,
        "key": key,
        "old": model_of(old) if old else None,
        "new": model_of(new) if new else None,
        "changed_by": Actor.of_stamp((new or old or {}).get("changed_by")),
    }


def _consent(item: Image, purpose: str) -> ConsentStatement:
    """A consent statement, older shapes too: one without its purpose has it in its key, one without the
    time it was recorded has its `updated_at` or `at`, and one without when it was said, when it was recorded."""
    recorded = next((item[name] for name in ("recorded_at", "updated_at", "at", "stated_at") if item.get(name)), None)
    filled = item if item.get("purpose") else {**item, "purpose": purpose}
    if recorded is not None:
        filled = {**filled, "recorded_at": recorded, "stated_at": item.get("stated_at") or recorded}
    return consent_from_item(filled)


def _claim_times(new: Image | None) -> ClaimTimes:
    image = new or {}
    return ClaimTimes(
        used_at=_text(image.get("used_at")),
        used_by_profile_id=_text(image.get("used_by_profile_id")),
        cancelled_at=_text(image.get("cancelled_at")),
        expired_at=_text(image.get("expired_at")),
    )


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
