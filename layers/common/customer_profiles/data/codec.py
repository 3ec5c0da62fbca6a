"""Between stored items and models: the only place that turns an item into a model and back.

DynamoDB numbers come back as Decimal (every number we store is an integer); cursors are opaque to clients.
"""

from __future__ import annotations

import base64
import binascii
import json
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from customer_profiles.data import keys
from customer_profiles.errors import InvalidInput
from customer_profiles.models.activity import ActivityEntry, Actor
from customer_profiles.models.consents import ConsentStatement
from customer_profiles.models.domain import (
    Claim,
    Entitlement,
    Holding,
    Identifier,
    Order,
    OrgSettings,
    Partner,
    PendingEffect,
    Profile,
    Proof,
    Receipt,
    StaffMembership,
    User,
)

Item = dict[str, Any]


def plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def _model[M: BaseModel](model: type[M], item: Item) -> M:
    return model.model_validate({k: v for k, v in plain(item).items() if k in model.model_fields})


# --- users and identifiers ---------------------------------------------------------------------
def user_from_item(item: Item) -> User:
    return _model(User, item)


def user_to_item(user: User) -> Item:
    return {**keys.user_key(user.user_id), "type": "user", **user.model_dump(exclude_none=True)}


def identifier_to_item(identifier: Identifier, user_id: str, proof: Proof) -> Item:
    kind, value = identifier
    return {
        **keys.identifier_key(identifier),
        "type": "identifier",
        "kind": kind,
        "value": value,
        "user_id": user_id,
        **proof.model_dump(exclude_none=True),
        "created_at": proof.at,
    }


def held_identifier_to_item(identifier: Identifier, user_id: str, proof: Proof) -> Item:
    """The identifier in its holder's partition (what `GET /v1/me/identifiers` lists)."""
    kind, value = identifier
    return {
        **keys.held_identifier_key(user_id, identifier),
        "type": "held_identifier",
        "kind": kind,
        "value": value,
        "user_id": user_id,
        **proof.model_dump(exclude_none=True),
    }


def holding_from_item(item: Item) -> Holding:
    # Items written before provenance was recorded were window captures: hints.
    return Holding(user_id=item["user_id"], provenance=item.get("provenance", "staff_captured"))


# --- profiles --------------------------------------------------------------------------------------
def profile_from_item(item: Item) -> Profile:
    return _model(Profile, item)


def profile_to_item(profile: Profile) -> Item:
    """The profile item; while it is live it is also the org listing's entry and the user's (gsi2, gsi1)."""
    item: Item = {
        **keys.profile_key(profile.org_id, profile.profile_id),
        "type": "profile",
        **profile.model_dump(mode="json", exclude_none=True),
        "attributes": profile.attributes.model_dump(mode="json", exclude_none=True),
    }
    if not profile.merged_into:
        item.update(keys.org_listing_keys(profile.org_id, profile.profile_id, profile.created_at))
        if profile.user_id:
            item.update(keys.user_profiles_keys(profile.user_id, profile.org_id))
    return item


# --- orders and entitlements -----------------------------------------------------------------------
def order_to_item(order: Order, user_id: str | None) -> Item:
    """The order, with its bookkeeping (what it was typed with, when it reached its person, its claim) that
    the model keeps out of every answer."""
    bookkeeping: Item = {}
    if order.typed:
        bookkeeping["typed"] = [t.model_dump() for t in order.typed]
    if order.reached_at:
        bookkeeping["reached_at"] = order.reached_at
    if order.claim_token_hash:
        bookkeeping["claim_token_hash"] = order.claim_token_hash
    for name in ("sold_by", "client_id", "receipt_hash"):
        if getattr(order, name):
            bookkeeping[name] = getattr(order, name)
    return {
        **keys.order_key(order.org_id, order.profile_id, order.created_at, order.order_id),
        "type": "order",
        **order.model_dump(mode="json"),
        **bookkeeping,
        **({"user_id": user_id} if user_id else {}),
        **keys.history_keys(user_id, order.org_id, order.created_at, order.order_id),
    }


def entitlement_to_item(entitlement: Entitlement, user_id: str | None) -> Item:
    return {
        **keys.entitlement_key(entitlement.org_id, entitlement.profile_id, entitlement.entitlement_id),
        "type": "entitlement",
        **entitlement.model_dump(mode="json"),
        "version": entitlement.version,
        **({"user_id": user_id} if user_id else {}),
        **keys.history_keys(user_id, entitlement.org_id, entitlement.created_at, entitlement.entitlement_id),
    }


def order_from_item(item: Item) -> Order:
    return _model(Order, item)


def entitlement_from_item(item: Item) -> Entitlement:
    return _model(Entitlement, item)


def child_from_item(item: Item) -> Order | Entitlement:
    return order_from_item(item) if item["type"] == "order" else entitlement_from_item(item)


def child_to_item(child: Order | Entitlement, user_id: str | None) -> Item:
    return order_to_item(child, user_id) if isinstance(child, Order) else entitlement_to_item(child, user_id)


# --- resellers, claims, link tasks ---------------------------------------------------------------
def partner_from_item(item: Item) -> Partner:
    return _model(Partner, item)


def membership_to_items(membership: StaffMembership) -> tuple[Item, Item]:
    """The membership in its org's staff partition, and its copy in the subject's partition."""
    body = {"type": "staff_membership", **membership.model_dump()}
    return (
        {**keys.membership_key(membership.org_id, membership.subject), **body},
        {**keys.subject_membership_key(membership.subject, membership.org_id), **body},
    )


def membership_from_item(item: Item) -> StaffMembership:
    return _model(StaffMembership, item)


def claim_from_item(item: Item) -> Claim:
    return _model(Claim, item)


def receipt_to_item(code_hash: str, receipt: Receipt) -> Item:
    return {**keys.receipt_key(code_hash), "type": "receipt", **receipt.model_dump(exclude_none=True)}


def receipt_from_item(item: Item) -> Receipt:
    return _model(Receipt, item)


def pending_to_item(effect: PendingEffect) -> Item:
    return {
        **keys.pending_key(effect.kind, effect.effect_id),
        "type": "pending",
        **effect.model_dump(mode="json"),
        **keys.pending_index_keys(effect.kind, effect.effect_id, effect.created_at),
    }


def pending_from_item(item: Item) -> PendingEffect:
    return _model(PendingEffect, item)


# --- cursors -------------------------------------------------------------------------------------------
def encode_cursor(position: Any) -> str | None:
    if not position:
        return None
    return base64.urlsafe_b64encode(json.dumps(plain(position), sort_keys=True).encode()).decode()


# DynamoDB's limits on a key attribute's string value, in UTF-8 bytes; an empty one is refused too.
PARTITION_KEY_BYTES = 2048
SORT_KEY_BYTES = 1024


def is_key_value(value: Any, *, max_bytes: int = SORT_KEY_BYTES) -> bool:
    """A string DynamoDB takes as a key attribute's value: not empty, valid UTF-8 (JSON may decode a lone
    surrogate), within the size limit. A cursor is client input: one that breaks this is refused before a
    request carries it (a ValidationException, or a failure to encode, would answer 500)."""
    if not isinstance(value, str) or not value:
        return False
    try:
        return len(value.encode("utf-8")) <= max_bytes
    except UnicodeEncodeError:
        return False


def decode_cursor(cursor: str | None) -> Any:
    """The position a cursor holds (always a JSON object: `encode_cursor` makes no other), or None for none."""
    if not cursor:
        return None
    try:
        position = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, binascii.Error, RecursionError) as error:  # RecursionError: deeply nested JSON
        raise InvalidInput("invalid cursor", field="cursor") from error
    if not isinstance(position, dict):
        raise InvalidInput("invalid cursor", field="cursor")
    return position


def decode_key_cursor(
    cursor: str | None, *, partition_attribute: str, partition_value: str, sort_prefix: str = ""
) -> Item | None:
    """A query's LastEvaluatedKey back from a cursor, only for the query it came from: exactly the key
    attributes its pages end on (the table's `pk` and `sk`, and the index's pair when the partition is an
    index's), each a key value, in the query's partition and under its sort-key prefix (DynamoDB refuses a
    start key outside the key condition)."""
    key = decode_cursor(cursor)
    if key is None:
        return None
    sort_attribute = partition_attribute.removesuffix("pk") + "sk"
    valid = (
        set(key) == {"pk", "sk", partition_attribute, sort_attribute}
        and key[partition_attribute] == partition_value
        and all(is_key_value(key[a], max_bytes=PARTITION_KEY_BYTES) for a in ("pk", partition_attribute))
        and all(is_key_value(key[a]) for a in ("sk", sort_attribute))
        and key[sort_attribute].startswith(sort_prefix)
    )
    if not valid:
        raise InvalidInput("invalid cursor", field="cursor")
    return key


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


# --- a profile's activity trail ------------------------------------------------------------------------
def activity_to_item(org_id: str, profile_id: str, entry: ActivityEntry, record_id: str, index: int) -> Item:
    return {
        **keys.activity_key(org_id, profile_id, entry.at, record_id, index),
        "type": "activity",
        "org_id": org_id,
        "profile_id": profile_id,
        **entry.model_dump(mode="json", exclude_none=True),
    }


def activity_from_item(item: Item) -> ActivityEntry:
    return _model(ActivityEntry, item)


# --- an org's settings -----------------------------------------------------------------------------------
def settings_to_item(settings: OrgSettings, changed_by: Actor) -> Item:
    """The settings, with who changed them last (the org's trail reads the stream image)."""
    return {
        **keys.org_settings_key(settings.org_id),
        "type": "org_settings",
        **settings.model_dump(exclude_none=True),
        "changed_by": changed_by.stamp(),
    }


def settings_from_item(item: Item) -> OrgSettings:
    return _model(OrgSettings, item)


def org_activity_to_item(org_id: str, entry: ActivityEntry, record_id: str, index: int) -> Item:
    return {
        **keys.org_activity_key(org_id, entry.at, record_id, index),
        "type": "org_activity",
        "org_id": org_id,
        **entry.model_dump(mode="json", exclude_none=True),
    }
