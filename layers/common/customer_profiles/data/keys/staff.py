"""Keys of an org's configuration, settings and staff (memberships, both sides, and the admin roster)."""

from __future__ import annotations

from customer_profiles.data.keys.base import Key

STAFF_PREFIX = "STAFF#"
ORG_CONFIG_SK = "CONFIG"
STAFF_ROSTER_SK = "ROSTER"
MEMBER_SK_PREFIX = "MEMBER#"


def org_config_key(org_id: str) -> Key:
    return {"pk": f"ORG#{org_id}", "sk": ORG_CONFIG_SK}


def staff_pk(org_id: str) -> str:
    return f"ORG#{org_id}#STAFF"


def membership_key(org_id: str, subject: str) -> Key:
    """An org's staff member, in the org's staff partition (listed by a Query on it)."""
    return {"pk": staff_pk(org_id), "sk": f"{MEMBER_SK_PREFIX}{subject}"}


def staff_roster_key(org_id: str) -> Key:
    """The org's admin count: every change of an admin role goes through it, so the last admin stays."""
    return {"pk": staff_pk(org_id), "sk": STAFF_ROSTER_SK}


def subject_membership_key(subject: str, org_id: str) -> Key:
    """The same membership in the subject's partition: the authorizer reads every org of a subject with one
    strongly consistent Query."""
    return {"pk": f"{STAFF_PREFIX}{subject}", "sk": f"ORG#{org_id}"}


def subject_memberships_pk(subject: str) -> str:
    return f"{STAFF_PREFIX}{subject}"


ORG_SETTINGS_SK = "SETTINGS"


def org_settings_key(org_id: str) -> Key:
    """The org's settings (capture policy), versioned; apart from `CONFIG`, which the operator writes whole."""
    return {"pk": f"ORG#{org_id}", "sk": ORG_SETTINGS_SK}


def org_of_settings_key(pk: str, sk: str) -> str | None:
    if sk != ORG_SETTINGS_SK or not pk.startswith("ORG#") or pk.count("#") != 1:
        return None
    return pk.removeprefix("ORG#") or None
