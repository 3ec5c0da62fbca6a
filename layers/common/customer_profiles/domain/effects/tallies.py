"""The identification report's tallies, kept from the table's stream (docs/decisions.md, section 23).

Each sale has a **tally**: what it adds to the report now (a sale, its tickets, who holds it, its receipt
code, whether its dormant holder became a person and how long that took), derived by `order_counts` from
the items as they are, never from what a record says happened. A change of anything a tally depends on (the
order, its profile, the profile's user, its receipt; a claim for a claim's tally) re-derives the tallies it
touches from strongly consistent reads, and the store's `write_tally` moves the counters by the difference
in the tally's own transaction, guarded by its version and by every item read. So a redelivered record finds
nothing to change, records in any order end at the same counters, and the counters equal a recount of the
items once the stream is quiet. Everything is counted in the sale's own period (a sale that later links
moves from dormant to person in its sale's period); claims in the period they were opened.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from customer_profiles.domain.effects.activity import Recorded
from customer_profiles.domain.identity.proofs import reached_at
from customer_profiles.models.domain import Claim, Order, PendingEffect
from customer_profiles.ports.effects import (
    ClaimChanged,
    ClaimFacts,
    Counts,
    OrderChanged,
    OrderFacts,
    ProfileChanged,
    ReceiptChanged,
    StreamChange,
    StreamRecord,
    Tally,
    TallyWrites,
    UserChanged,
    Where,
    claim_subject,
    order_subject,
)
from customer_profiles.retry import on_concurrent_write

CHANNEL_OF_ORDER = {"pos": "window", "partner": "reseller"}
CLAIM_COUNTER_OF_STATUS = {"claimed": "claims_accepted", "expired": "claims_expired"}
# Sale -> activation times, in a histogram of log buckets: 4 a doubling, so bucket i holds [2^(i/4), 2^((i+1)/4))
# seconds and its geometric middle is within 9.1% (2^(1/8) - 1) of every time in it. Buckets add up across
# shards, days and tills (a median does not), 10 years need about 115 of them, and a period holds only
# those its sales fell in: an exact median would need every time kept and read.
BUCKETS_PER_DOUBLING = 4
BUCKET_PREFIX = "t"


# --- what a sale and a claim add ------------------------------------------------------------------------
def activation_bucket(seconds: float) -> int:
    return max(0, math.floor(BUCKETS_PER_DOUBLING * math.log2(max(seconds, 1.0))))


def _seconds_between(earlier: str, later: str) -> float:
    return (datetime.fromisoformat(later) - datetime.fromisoformat(earlier)).total_seconds()


def channel_of(order: Order, app_client_org: str | None) -> str:
    """window, reseller, or for an app purchase: white_label through the org's own app, else consumer_app."""
    if order.channel in CHANNEL_OF_ORDER:
        return CHANNEL_OF_ORDER[order.channel]
    return "white_label" if app_client_org == order.org_id else "consumer_app"


def order_where(facts: OrderFacts) -> Where:
    order = facts.order
    channel = channel_of(order, facts.app_client_org)
    return Where(order.created_at[:10], channel, order.sold_by if channel == "window" else None)


def order_counts(facts: OrderFacts) -> Counts:
    """What the sale adds now: one sale, its tickets, who holds it (a person: it reached one; a dormant
    holder; nobody, with or without a receipt code; an erased customer's), its receipt code issued and
    redeemed, and for a sale typed with an email or phone whose holder became a person after the sale,
    `activated` and the time that took (a histogram bucket)."""
    order, profile, holder = facts.order, facts.profile, facts.holder
    counts: Counts = {"sales": 1, "tickets": sum(line.quantity for line in order.lines if line.kind == "ticket")}
    reached = reached_at(order, profile, holder) if profile is not None else order.reached_at
    if profile is not None and profile.erased_at:
        held = "erased"
    elif reached is not None:
        held = "person"
    elif profile is not None and profile.user_id:
        held = "dormant"
    else:
        held = "anonymous_with_receipt" if order.receipt_hash else "anonymous"
    counts[f"held_{held}"] = 1
    if order.receipt_hash:
        counts["receipt_codes_issued"] = 1
        if facts.receipt is not None and facts.receipt.status == "used":
            counts["receipt_codes_redeemed"] = 1
    if held == "person" and order.typed and reached is not None and reached > order.created_at:
        counts["activated"] = 1
        counts[f"{BUCKET_PREFIX}{activation_bucket(_seconds_between(order.created_at, reached))}"] = 1
    return counts


def claim_counts(claim: Claim) -> Counts:
    """A claim opened, and what became of it: accepted, cancelled, re-addressed (replaced by a claim to a new
    buyer), expired; nothing more while it is open."""
    counts: Counts = {"claims_opened": 1}
    if claim.status == "cancelled":
        counts["claims_readdressed" if claim.replaced_by else "claims_cancelled"] = 1
    elif claim.status in CLAIM_COUNTER_OF_STATUS:
        counts[CLAIM_COUNTER_OF_STATUS[claim.status]] = 1
    return counts


# --- kept from the stream -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Target:
    """What a record asks to re-tally: an order at a key, every order of a profile or of a user (by their
    partition), a claim. The keys are the changed items' (`ItemKey`), opaque here: the store reads them, and a
    `recount` effect's cause holds them."""

    kind: Literal["order", "profile", "user", "claim"]
    pk: str
    sk: str = ""

    def as_cause(self) -> dict[str, str]:
        return {"kind": self.kind, "pk": self.pk, "sk": self.sk}


# A profile's change that moves its sales between holders (its children are re-keyed later, or never when
# they held no user: an anonymous sale of a profile an admin attached, or erased).
PROFILE_HOLDING = ("user_id", "reached_at", "erased_at", "merged_into")


def targets_of_change(change: StreamChange) -> list[Target]:
    """The tallies a stream change may change (pure): none for anything a tally does not depend on."""
    match change:
        case OrderChanged(event="INSERT" | "MODIFY", new=new) if new is not None:
            return [Target("order", change.key.pk, change.key.sk)]
        case ProfileChanged(event="MODIFY", old=old, new=new) if new is not None:
            before = old.model_dump() if old else {}
            after = new.model_dump()
            if any(before.get(name) != after.get(name) for name in PROFILE_HOLDING):
                return [Target("profile", change.key.pk)]
        case ClaimChanged(event="INSERT" | "MODIFY", new=new) if new is not None:
            return [Target("claim", change.key.pk, change.key.sk)]
        case UserChanged(event="MODIFY", old=old, new=new) if new is not None:
            if (old.status if old else None) != new.status and new.user_id:
                return [Target("user", change.key.pk)]
        case ReceiptChanged(event="INSERT" | "MODIFY", old=old, new=new) if new is not None:
            if (old.status if old else None) != new.status:
                return [Target("order", change.order_key.pk, change.order_key.sk)]
    return []  # a removal: the item went elsewhere (its INSERT there re-tallies) or nowhere


def _next_tally(before: Tally | None, org_id: str, subject: str, where: Where, counts: Counts) -> Tally:
    # Where a tally adds up is fixed when it is first written (an app client registered later moves nothing).
    return Tally(org_id, subject, before.where if before else where, counts, before.version + 1 if before else 1)


def retally_order(store: TallyWrites, pk: str, sk: str) -> bool:
    """The tally of the order at this key from the items as they are; True when it changed. An order no
    longer there is left to the record of where it went."""

    def attempt() -> bool:
        facts = store.order_facts(pk, sk)
        if facts is None:
            return False
        subject = order_subject(facts.order.order_id)
        after = _next_tally(facts.tally, facts.order.org_id, subject, order_where(facts), order_counts(facts))
        return store.write_tally(facts.tally, after, facts.checks)

    return on_concurrent_write(attempt, give_up="the sale's tally kept conflicting; left pending")


def retally_claim(store: TallyWrites, pk: str) -> bool:
    def attempt() -> bool:
        facts: ClaimFacts | None = store.claim_facts(pk)
        if facts is None:
            return False
        claim = facts.claim
        where = Where(claim.created_at[:10], "reseller")
        after = _next_tally(facts.tally, claim.org_id, claim_subject(claim.claim_id), where, claim_counts(claim))
        return store.write_tally(facts.tally, after, facts.checks)

    return on_concurrent_write(attempt, give_up="the claim's tally kept conflicting; left pending")


def retally(store: TallyWrites, target: Target) -> int:
    """Re-derive what `target` names; how many tallies changed."""
    if target.kind == "order":
        return int(retally_order(store, target.pk, target.sk))
    if target.kind == "claim":
        return int(retally_claim(store, target.pk))
    if target.kind == "profile":
        order_keys = store.order_keys_of_profile(target.pk)
    else:
        order_keys = store.order_keys_of_user(target.pk)
    return sum(retally_order(store, pk, sk) for pk, sk in order_keys)


def record_tallies(store: TallyWrites, record: StreamRecord, *, now: str) -> Recorded:
    """Re-tally what a stream record touches; when that fails, leave it as a `recount` pending effect (one
    PutItem), which the stream, a re-drive or the sweep completes; raises only if that fails too."""
    targets = targets_of_change(record.change)
    if not targets:
        return Recorded()
    try:
        return Recorded(written=sum(retally(store, target) for target in targets))
    except Exception as error:  # whatever failed (throttling, conflicts past the retries), the recount waits
        store.put_pending(deferred_recount(record.record_id, targets, now))
        return Recorded(deferred=error)


def deferred_recount(record_id: str, targets: Iterable[Target], now: str) -> PendingEffect:
    cause = {"record_id": record_id, "targets": [t.as_cause() for t in targets]}
    return PendingEffect(kind="recount", effect_id=record_id, cause=cause, created_at=now)


def recount(store: TallyWrites, cause: dict[str, Any]) -> int:
    """Complete a `recount` effect: the targets it holds, re-derived from the items as they are now."""
    return sum(retally(store, Target(t["kind"], t["pk"], t.get("sk", ""))) for t in cause["targets"])
