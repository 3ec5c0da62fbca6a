"""Keys of a profile's partition (the profile, its orders, entitlements, consents, search entries, lineage),
its org listing and search entries, and its user's profiles and history."""

from __future__ import annotations

import unicodedata
import zlib

from customer_profiles.data.keys.base import USER_PREFIX, Key, profile_pk

PROFILE_SK = "PROFILE"
CARD_SK = "CARD"
ORDER_SK_PREFIX = "ORDER#"
ENTITLEMENT_SK_PREFIX = "ENT#"
SEARCH_SK_PREFIX = "SEARCH#"
CONSENT_SK_PREFIX = "CONSENT#"
# Lineage: a profile merged into this one, in the survivor's partition (sorts outside ENT#..ORDER#~).
MERGED_PROFILE_SK_PREFIX = "SOURCE#"
# A profile's children, each kind under its own prefix, read by a Query each (never its search entries).
CHILD_SK_PREFIXES = (ORDER_SK_PREFIX, ENTITLEMENT_SK_PREFIX)
HISTORY_PREFIX = "HIST#"
PROFILE_BY_USER_PREFIX = "PROFILE#ORG#"
# The org listing key takes one write per new profile, and in an on-sale most buyers are new: about a fifth
# of gsi2's writes (bench/onsale.py). With 4 shards each would take 5% of the index's writes, the hottest
# key; 32 keep every shard under 1% (each is a few dozen writes/s at 50,000 orders a minute), and a listing
# page reads the 32 shards and merges them (docs/decisions.md, section 1). A profile keyed under 4 shards
# sits in shard 0-3, which the reader reads like any other: nothing to back-fill (the profile takes its
# shard the next time it is written).
ORG_LISTING_SHARDS = 32


def merged_profile_key(org_id: str, survivor_id: str, merged_id: str) -> Key:
    """`merged_id` merged into `survivor_id`: the survivor's lineage, read when its person is erased."""
    return {"pk": profile_pk(org_id, survivor_id), "sk": f"{MERGED_PROFILE_SK_PREFIX}{merged_id}"}


def profile_key(org_id: str, profile_id: str) -> Key:
    return {"pk": profile_pk(org_id, profile_id), "sk": PROFILE_SK}


def user_org_key(user_id: str, org_id: str) -> Key:
    """One profile per user per org, in the user's own partition: a strongly consistent Query on it lists
    every profile of the user (the linker decides on it, never on an index)."""
    return {"pk": f"{USER_PREFIX}{user_id}", "sk": f"{PROFILE_BY_USER_PREFIX}{org_id}"}


def card_key(org_id: str, fingerprint: str) -> Key:
    return {"pk": f"ORG#{org_id}#CARD#{fingerprint}", "sk": CARD_SK}


def order_key(org_id: str, profile_id: str, created_at: str, order_id: str) -> Key:
    return {"pk": profile_pk(org_id, profile_id), "sk": f"{ORDER_SK_PREFIX}{created_at}#{order_id}"}


def entitlement_key(org_id: str, profile_id: str, entitlement_id: str) -> Key:
    """Entitlement ids made since bounded reads start with their creation time (`clock.time_ordered_id`), so
    `ENT#` sorts them by time, and above every earlier id (uuid4 hex, which are all older)."""
    return {"pk": profile_pk(org_id, profile_id), "sk": f"{ENTITLEMENT_SK_PREFIX}{entitlement_id}"}


def consent_key(org_id: str, profile_id: str, purpose: str) -> Key:
    """A purpose's current consent statement, in the profile's partition (one item per purpose)."""
    return {"pk": profile_pk(org_id, profile_id), "sk": f"{CONSENT_SK_PREFIX}{purpose}"}


def search_key(org_id: str, profile_id: str, entry: str) -> Key:
    return {"pk": profile_pk(org_id, profile_id), "sk": f"{SEARCH_SK_PREFIX}{entry}"}


def listing_shard_pk(org_id: str, shard: int) -> str:
    return f"ORG#{org_id}#PROFILES#{shard}"


def org_listing_keys(org_id: str, profile_id: str, created_at: str) -> Key:
    """The profile item's gsi2 keys: newest first within a shard chosen by the profile id."""
    shard = zlib.crc32(profile_id.encode()) % ORG_LISTING_SHARDS
    return {"gsi2pk": listing_shard_pk(org_id, shard), "gsi2sk": f"{created_at}#{profile_id}"}


def search_name(value: str) -> str:
    """Case- and accent-insensitive form of a name, for prefix search."""
    decomposed = unicodedata.normalize("NFKD", value.casefold())
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).split())


def org_search_pk(org_id: str, by: str, value: str) -> str:
    # Names are keyed by their first character, so a prefix search reads one key and name writes spread
    # over as many keys as there are initials.
    return f"ORG#{org_id}#{by.upper()}#{value[:1] if by == 'name' else value}"


def org_search_keys(org_id: str, profile_id: str, by: str, value: str) -> Key:
    return {"gsi2pk": org_search_pk(org_id, by, value), "gsi2sk": f"{value}#{profile_id}"}


def user_profiles_keys(user_id: str, org_id: str) -> Key:
    """A user's profiles across orgs (gsi1), one per org."""
    return {"gsi1pk": f"{USER_PREFIX}{user_id}", "gsi1sk": f"{PROFILE_BY_USER_PREFIX}{org_id}"}


def user_history_pk(user_id: str, org_id: str | None = None) -> str:
    return f"{USER_PREFIX}{user_id}" + (f"#ORG#{org_id}" if org_id else "")


def history_keys(user_id: str | None, org_id: str, created_at: str, item_id: str) -> Key:
    """An order's or entitlement's place in its user's history: across orgs (gsi1) and in one org (gsi2)."""
    if not user_id:
        return {}
    sort_key = f"{HISTORY_PREFIX}{created_at}#{item_id}"
    return {
        "gsi1pk": user_history_pk(user_id),
        "gsi1sk": sort_key,
        "gsi2pk": user_history_pk(user_id, org_id),
        "gsi2sk": sort_key,
    }
