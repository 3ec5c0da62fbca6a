"""Users, the identifiers they hold, and profiles: items and models."""

from __future__ import annotations

from customer_profiles.data import keys
from customer_profiles.data.codec.base import Item, model_from_item
from customer_profiles.models.domain import Holding, Identifier, Profile, Proof, User


def user_from_item(item: Item) -> User:
    return model_from_item(User, item)


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


def profile_from_item(item: Item) -> Profile:
    return model_from_item(Profile, item)


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
