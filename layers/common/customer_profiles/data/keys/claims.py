"""Keys of claims: the claim by its token's hash, its recipients' listing, its due reminder and expiry."""

from __future__ import annotations

import zlib

from customer_profiles.data.keys.base import BY_ORG_INDEX, BY_USER_INDEX, Key

CLAIM_PREFIX = "CLAIM#"
CLAIM_SK = "CLAIM"
CLAIMS_TO_PREFIX = "CLAIMS_TO#"
# Claims' due reminders and expiries, in a few base-table partitions (strongly consistent Queries): each
# claim writes two due items, so like pending effects they spread over shards rather than one key.
CLAIM_DUE_PREFIX = "CLAIMDUE#"
CLAIM_DUE_SHARDS = 4


def claim_key(token_hash: str) -> Key:
    return {"pk": f"{CLAIM_PREFIX}{token_hash}", "sk": CLAIM_SK}


# An open claim is listed to its recipient by the identifiers it is addressed to: the email in gsi1, the
# phone in gsi2 (a sparse index: the keys are removed when the claim is no longer open).
CLAIM_RECIPIENT_INDEXES = {"email": BY_USER_INDEX, "phone": BY_ORG_INDEX}


def claims_to_pk(kind: str, value: str) -> str:
    return f"{CLAIMS_TO_PREFIX}{kind}#{value}"


def claim_recipient_keys(email: str | None, phone: str | None, created_at: str, claim_id: str) -> Key:
    found: Key = {}
    for kind, value in (("email", email), ("phone", phone)):
        if value:
            attribute = CLAIM_RECIPIENT_INDEXES[kind]
            found[f"{attribute}pk"] = claims_to_pk(kind, value)
            found[f"{attribute}sk"] = f"{created_at}#{claim_id}"
    return found


def claim_due_pk(shard: int) -> str:
    return f"{CLAIM_DUE_PREFIX}{shard}"


def claim_due_key(claim_id: str, due_at: str, kind: str) -> Key:
    """When a claim's reminder or expiry falls due (`kind` remind or expire): its shard sorted by that time,
    so the schedule finds what is due with one Query per shard, sort key <= now."""
    shard = zlib.crc32(claim_id.encode()) % CLAIM_DUE_SHARDS
    return {"pk": claim_due_pk(shard), "sk": f"{due_at}#{kind}#{claim_id}"}
