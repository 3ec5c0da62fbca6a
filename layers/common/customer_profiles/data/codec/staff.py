"""Staff memberships (both sides) and an org's settings: items and models."""

from __future__ import annotations

from customer_profiles.data import keys
from customer_profiles.data.codec.base import Item, model_from_item
from customer_profiles.models.activity import Actor
from customer_profiles.models.domain import OrgSettings, StaffMembership


def membership_to_items(membership: StaffMembership) -> tuple[Item, Item]:
    """The membership in its org's staff partition, and its copy in the subject's partition."""
    body = {"type": "staff_membership", **membership.model_dump()}
    return (
        {**keys.membership_key(membership.org_id, membership.subject), **body},
        {**keys.subject_membership_key(membership.subject, membership.org_id), **body},
    )


def membership_from_item(item: Item) -> StaffMembership:
    return model_from_item(StaffMembership, item)


def settings_to_item(settings: OrgSettings, changed_by: Actor) -> Item:
    """The settings, with who changed them last (the org's trail reads the stream image)."""
    return {
        **keys.org_settings_key(settings.org_id),
        "type": "org_settings",
        **settings.model_dump(exclude_none=True),
        "changed_by": changed_by.stamp(),
    }


def settings_from_item(item: Item) -> OrgSettings:
    return model_from_item(OrgSettings, item)
