"""Keys of the activity trails: a profile's (docs/decisions.md, section 22) and an org's own."""

from __future__ import annotations

from customer_profiles.data.keys.base import Key

# Outside the profile's partition: the linker moves a profile's children on merges and the staff view pages
# them, and neither must meet the trail. One partition per profile: a profile's own changes are few.
ACTIVITY_PREFIX = "ACTIVITY#"


def activity_pk(org_id: str, profile_id: str) -> str:
    return f"{ACTIVITY_PREFIX}{org_id}#{profile_id}"


def activity_key(org_id: str, profile_id: str, at: str, record_id: str, index: int) -> Key:
    """An entry, newest last by its time; the stream record it came from (and its place among that record's
    entries) makes the key, so a redelivered record finds its entries written already."""
    return {"pk": activity_pk(org_id, profile_id), "sk": f"{at}#{record_id}#{index:03d}"}


ORG_ACTIVITY_PREFIX = "ORGACTIVITY#"


def org_activity_pk(org_id: str) -> str:
    return f"{ORG_ACTIVITY_PREFIX}{org_id}"


def org_activity_key(org_id: str, at: str, record_id: str, index: int) -> Key:
    """An entry on the org's own trail (settings changes), keyed like a profile's by its stream record."""
    return {"pk": org_activity_pk(org_id), "sk": f"{at}#{record_id}#{index:03d}"}
