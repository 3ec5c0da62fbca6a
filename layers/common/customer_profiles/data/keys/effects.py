"""Keys of pending effects (the work the stream drives) and of their re-drive listing."""

from __future__ import annotations

import zlib

from customer_profiles.data.keys.base import Key

PENDING_PREFIX = "PENDING#"
PENDING_SK = "PENDING"
PENDING_SHARDS = 4


def pending_key(kind: str, effect_id: str) -> Key:
    return {"pk": f"{PENDING_PREFIX}{kind}#{effect_id}", "sk": PENDING_SK}


def pending_shard_pk(shard: int) -> str:
    return f"{PENDING_PREFIX}{shard}"


def pending_index_keys(kind: str, effect_id: str, created_at: str) -> Key:
    """Pending effects listed oldest first for the re-drive, over shards: a claim notification comes with
    every reseller order, so one key would cap them at one partition's writes."""
    shard = zlib.crc32(f"{kind}#{effect_id}".encode()) % PENDING_SHARDS
    return {"gsi2pk": pending_shard_pk(shard), "gsi2sk": f"{created_at}#{kind}#{effect_id}"}
