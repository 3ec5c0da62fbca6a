"""Every key of the profiles table (partition and sort keys, index keys, the prefixes they start with), and
of the requests table's idempotent answers.

No other module spells a key. Key design and the access patterns it serves: docs/decisions.md.
"""

from __future__ import annotations

import hashlib
import unicodedata
import zlib

from customer_profiles.models.domain import Identifier

Key = dict[str, str]

USER_PREFIX = "USER#"
SUBJECT_PREFIX = "SUBJECT#"
IDENTIFIER_PREFIX = "IDENT#"
APP_CLIENT_PREFIX = "APPCLIENT#"
PARTNER_PREFIX = "PARTNER#"
CLAIM_PREFIX = "CLAIM#"
RECEIPT_PREFIX = "RECEIPT#"
PENDING_PREFIX = "PENDING#"
STAFF_PREFIX = "STAFF#"
TYPED_PREFIX = "TYPED#"
HINT_PREFIX = "HINT#"
HELD_IDENTIFIER_PREFIX = "IDENT#"
USER_SK = "USER"
SUBJECT_SK = "SUBJECT"
IDENTIFIER_SK = "IDENT"
APP_CLIENT_SK = "APPCLIENT"
PROFILE_SK = "PROFILE"
ORG_CONFIG_SK = "CONFIG"
CARD_SK = "CARD"
PARTNER_SK = "PARTNER"
WEBHOOK_SK = "WEBHOOK"
CLAIM_SK = "CLAIM"
PARTNER_ORDER_SK = "PARTNER_ORDER"
CLAIMS_TO_PREFIX = "CLAIMS_TO#"
RECEIPT_SK = "RECEIPT"
PENDING_SK = "PENDING"
STAFF_ROSTER_SK = "ROSTER"
MEMBER_SK_PREFIX = "MEMBER#"
ORDER_SK_PREFIX = "ORDER#"
ENTITLEMENT_SK_PREFIX = "ENT#"
SEARCH_SK_PREFIX = "SEARCH#"
CONSENT_SK_PREFIX = "CONSENT#"
# Lineage: a profile merged into this one (in the survivor's partition; sorts outside ENT#..ORDER#~), and a
# dormant user merged into this user (in the person's partition).
MERGED_PROFILE_SK_PREFIX = "SOURCE#"
MERGED_USER_SK_PREFIX = "MERGED#"
HINT_SK_PREFIX = "PROFILE#"
ANSWER_REF_SK_PREFIX = "ANSWER#"  # an idempotent answer telling of the profile (sorts before CONSENT#)
# A profile's children, each kind under its own prefix, read by a Query each (never its search entries).
CHILD_SK_PREFIXES = (ORDER_SK_PREFIX, ENTITLEMENT_SK_PREFIX)
HISTORY_PREFIX = "HIST#"
PROFILE_BY_USER_PREFIX = "PROFILE#ORG#"
BY_USER_INDEX = "gsi1"
BY_ORG_INDEX = "gsi2"
# The org listing key takes one write per new profile, and in an on-sale most buyers are new: about a fifth
# of gsi2's writes (bench/onsale.py). At 4 shards each shard took 5% of the index's writes, the hottest key;
# 32 keep every shard under 1% (each is a few dozen writes/s at 50,000 orders a minute), and a listing
# page reads the 32 shards and merges them (docs/decisions.md, section 1). A profile written when there
# were 4 shards sits under shard 0-3, which the reader still reads: nothing to back-fill (the profile moves
# to its new shard the next time it is written).
ORG_LISTING_SHARDS = 32
PENDING_SHARDS = 4
# Claims' due reminders and expiries, in a few base-table partitions (strongly consistent Queries): each
# claim writes two due items, so like pending effects they spread over shards rather than one key.
CLAIM_DUE_PREFIX = "CLAIMDUE#"
CLAIM_DUE_SHARDS = 4


def user_key(user_id: str) -> Key:
    return {"pk": f"{USER_PREFIX}{user_id}", "sk": USER_SK}


def subject_key(subject: str) -> Key:
    return {"pk": f"{SUBJECT_PREFIX}{subject}", "sk": SUBJECT_SK}


def identifier_key(identifier: Identifier) -> Key:
    kind, value = identifier
    return {"pk": f"{IDENTIFIER_PREFIX}{kind}#{value}", "sk": IDENTIFIER_SK}


def held_identifier_key(user_id: str, identifier: Identifier) -> Key:
    """An identifier in its holder's own partition: one strongly consistent Query lists all a user holds
    (`GET /v1/me/identifiers`, erasure), whatever the user item shows."""
    kind, value = identifier
    return {"pk": f"{USER_PREFIX}{user_id}", "sk": f"{HELD_IDENTIFIER_PREFIX}{kind}#{value}"}


def typed_pk(identifier: Identifier) -> str:
    kind, value = identifier
    return f"{TYPED_PREFIX}{kind}#{value}"


def typed_sale_key(identifier: Identifier, org_id: str, order_id: str) -> Key:
    """A sale typed with `identifier` that a dormant holder of another of its identifiers has: whoever proves
    `identifier` first finds it here (one strongly consistent Query of the identifier's partition)."""
    return {"pk": typed_pk(identifier), "sk": f"{ORDER_SK_PREFIX}{org_id}#{order_id}"}


def hint_pk(identifier: Identifier) -> str:
    kind, value = identifier
    return f"{HINT_PREFIX}{kind}#{value}"


def hint_key(identifier: Identifier, org_id: str, profile_id: str) -> Key:
    """A profile (of any user, or none) on which staff or a reseller captured `identifier`: an erasure of
    whoever proved it finds every such copy with one strongly consistent Query, never through an index."""
    return {"pk": hint_pk(identifier), "sk": f"{HINT_SK_PREFIX}{org_id}#{profile_id}"}


def merged_profile_key(org_id: str, survivor_id: str, merged_id: str) -> Key:
    """`merged_id` merged into `survivor_id`: the survivor's lineage, read when its person is erased."""
    return {"pk": profile_pk(org_id, survivor_id), "sk": f"{MERGED_PROFILE_SK_PREFIX}{merged_id}"}


def merged_user_key(user_id: str, merged_user_id: str) -> Key:
    """A dormant holder folded into `user_id`: the person's lineage, read when they are erased."""
    return {"pk": f"{USER_PREFIX}{user_id}", "sk": f"{MERGED_USER_SK_PREFIX}{merged_user_id}"}


def app_client_key(client_id: str) -> Key:
    return {"pk": f"{APP_CLIENT_PREFIX}{client_id}", "sk": APP_CLIENT_SK}


def org_config_key(org_id: str) -> Key:
    return {"pk": f"ORG#{org_id}", "sk": ORG_CONFIG_SK}


def profile_pk(org_id: str, profile_id: str) -> str:
    return f"ORG#{org_id}#PROFILE#{profile_id}"


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


def partner_key(partner_id: str) -> Key:
    return {"pk": f"{PARTNER_PREFIX}{partner_id}", "sk": PARTNER_SK}


def webhook_key(partner_id: str, webhook_id: str) -> Key:
    return {"pk": f"{PARTNER_PREFIX}{partner_id}#WEBHOOK#{webhook_id}", "sk": WEBHOOK_SK}


def partner_order_key(partner_id: str, external_order_id: str) -> Key:
    """A partner's order by its own id: one per (partner, external_order_id), whatever the webhook-id."""
    return {"pk": f"{PARTNER_PREFIX}{partner_id}#ORDER#{external_order_id}", "sk": PARTNER_ORDER_SK}


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


def receipt_key(code_hash: str) -> Key:
    """An anonymous sale's receipt code, by the code's HMAC with a server key (the code is never stored)."""
    return {"pk": f"{RECEIPT_PREFIX}{code_hash}", "sk": RECEIPT_SK}


def pending_key(kind: str, effect_id: str) -> Key:
    return {"pk": f"{PENDING_PREFIX}{kind}#{effect_id}", "sk": PENDING_SK}


def pending_shard_pk(shard: int) -> str:
    return f"{PENDING_PREFIX}{shard}"


def pending_index_keys(kind: str, effect_id: str, created_at: str) -> Key:
    """Pending effects listed oldest first for the re-drive, over shards: a claim notification comes with
    every reseller order, so one key would cap them at one partition's writes."""
    shard = zlib.crc32(f"{kind}#{effect_id}".encode()) % PENDING_SHARDS
    return {"gsi2pk": pending_shard_pk(shard), "gsi2sk": f"{created_at}#{kind}#{effect_id}"}


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


def request_key(operation: str, caller: str, idempotency_key: str) -> Key:
    """An idempotent request's answer, in the requests table (its `id`, hashed: the parts are unbounded
    client strings). The prefix keeps it apart from any record of another kind in that table."""
    digest = hashlib.sha256("\n".join((operation, caller, idempotency_key)).encode()).hexdigest()
    return {"id": f"request#{digest}"}


def answer_ref_key(about: str, answer_id: str) -> Key:
    """In the partition of the profile an idempotent answer tells of (`about`): where its erasure finds it."""
    return {"pk": about, "sk": f"{ANSWER_REF_SK_PREFIX}{answer_id}"}


def attempts_key(action: str, user_id: str, window: int) -> Key:
    """A user's failed attempts at `action` in one time window, in the requests table (its TTL removes the
    counter once the window is over; the profiles table has no TTL)."""
    return {"id": f"attempts#{action}#{user_id}#{window}"}


# --- a profile's activity trail (docs/decisions.md, section 22) ---------------------------------------------
# Outside the profile's partition: the linker moves a profile's children on merges and the staff view pages
# them, and neither must meet the trail. One partition per profile: a profile's own changes are few.
ACTIVITY_PREFIX = "ACTIVITY#"
PROFILE_PK_PARTS = 4  # ORG#<o>#PROFILE#<p>


def activity_pk(org_id: str, profile_id: str) -> str:
    return f"{ACTIVITY_PREFIX}{org_id}#{profile_id}"


def activity_key(org_id: str, profile_id: str, at: str, record_id: str, index: int) -> Key:
    """An entry, newest last by its time; the stream record it came from (and its place among that record's
    entries) makes the key, so a redelivered record finds its entries written already."""
    return {"pk": activity_pk(org_id, profile_id), "sk": f"{at}#{record_id}#{index:03d}"}


def profile_of_pk(pk: str) -> tuple[str, str] | None:
    """(org_id, profile_id) of a key in a profile's partition; None for any other partition."""
    parts = pk.split("#")
    if len(parts) != PROFILE_PK_PARTS or parts[0] != "ORG" or parts[2] != "PROFILE" or not parts[1] or not parts[3]:
        return None
    return parts[1], parts[3]


# --- an org's settings and its own trail ------------------------------------------------------------------
ORG_SETTINGS_SK = "SETTINGS"
ORG_ACTIVITY_PREFIX = "ORGACTIVITY#"


def org_settings_key(org_id: str) -> Key:
    """The org's settings (capture policy), versioned; apart from `CONFIG`, which the operator writes whole."""
    return {"pk": f"ORG#{org_id}", "sk": ORG_SETTINGS_SK}


def org_of_settings_key(pk: str, sk: str) -> str | None:
    if sk != ORG_SETTINGS_SK or not pk.startswith("ORG#") or pk.count("#") != 1:
        return None
    return pk.removeprefix("ORG#") or None


def org_activity_pk(org_id: str) -> str:
    return f"{ORG_ACTIVITY_PREFIX}{org_id}"


def org_activity_key(org_id: str, at: str, record_id: str, index: int) -> Key:
    """An entry on the org's own trail (settings changes), keyed like a profile's by its stream record."""
    return {"pk": org_activity_pk(org_id), "sk": f"{at}#{record_id}#{index:03d}"}


# --- the identification report (docs/decisions.md, section 23) ---------------------------------------------
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
