"""Keys of the identification report (docs/decisions.md, section 23): tallies and sharded counter rows."""

from __future__ import annotations

import zlib

from customer_profiles.data.keys.base import Key

# A tally holds what one sale (or one claim) adds to the report now; each counter row holds the sum of the
# tallies of one day and channel. A tally sits in a partition of its own (one per sale: never hot).
TALLY_PREFIX = "TALLY#"
TALLY_SK = "TALLY"
REPORT_PREFIX = "REPORT#"
REPORT_STAFF_PREFIX = "REPORTSTAFF#"
# Every sale of an on-sale adds to its day's row: 50,000 orders a minute on one row would be 833 writes/s on
# one key (with the transaction's 2x, over the 1,000 WCU a partition takes) and about 8% of the table's
# writes. Spread by the sale's id over 16 shards, a shard takes about 0.4% (bench/onsale.py); a report reads
# the 16 shards, one Query each over its whole range of days.
REPORT_SHARDS = 16


def tally_key(org_id: str, subject: str) -> Key:
    """`subject`: `order#<order_id>` or `claim#<claim_id>`."""
    return {"pk": f"{TALLY_PREFIX}{org_id}#{subject}", "sk": TALLY_SK}


def report_shard(subject: str) -> int:
    return zlib.crc32(subject.encode()) % REPORT_SHARDS


def report_pk(org_id: str, shard: int) -> str:
    return f"{REPORT_PREFIX}{org_id}#{shard}"


def report_key(org_id: str, shard: int, day: str, channel: str) -> Key:
    """One shard's counters of a day and channel: a report Queries each shard's range of days."""
    return {"pk": report_pk(org_id, shard), "sk": f"{day}#{channel}"}


def report_staff_pk(org_id: str, shard: int) -> str:
    return f"{REPORT_STAFF_PREFIX}{org_id}#{shard}"


def report_staff_key(org_id: str, subject: str, day: str, channel: str) -> Key:
    """A staff member's counters of a day and channel, in a shard chosen by the subject: one till sells a
    few sales a minute, so its row needs no spreading, and a report by staff reads one row per till a day."""
    return {"pk": report_staff_pk(org_id, report_shard(subject)), "sk": f"{day}#{channel}#{subject}"}
