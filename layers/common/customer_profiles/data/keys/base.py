"""What every key module shares: the key type, the two indexes, a user's and a profile's partition."""

from __future__ import annotations

Key = dict[str, str]
USER_PREFIX = "USER#"
BY_USER_INDEX = "gsi1"
BY_ORG_INDEX = "gsi2"


def profile_pk(org_id: str, profile_id: str) -> str:
    return f"ORG#{org_id}#PROFILE#{profile_id}"


PROFILE_PK_PARTS = 4  # ORG#<o>#PROFILE#<p>


def profile_of_pk(pk: str) -> tuple[str, str] | None:
    """(org_id, profile_id) of a key in a profile's partition; None for any other partition."""
    parts = pk.split("#")
    if len(parts) != PROFILE_PK_PARTS or parts[0] != "ORG" or parts[2] != "PROFILE" or not parts[1] or not parts[3]:
        return None
    return parts[1], parts[3]
