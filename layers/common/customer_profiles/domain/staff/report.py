"""The identification report: how well an org knows who its customers are, per period and channel (and per
till), built from the table's stream and read without a Scan (docs/decisions.md, section 23).

Each sale has a **tally**: what it adds to the report now (a sale, its tickets, who holds it, its receipt
code, whether its dormant holder became a person and how long that took), derived by `order_counts` from
the items as they are, never from what a record says happened. A record of anything a tally depends on (the
order, its profile, the profile's user, its receipt; a claim for a claim's tally) re-derives the tallies it
touches from strongly consistent reads, and `ReportRecords.write_tally` moves the counters by the difference
in the tally's own transaction, guarded by its version and by every item read. So a redelivered record finds
nothing to change, records in any order end at the same counters, and the counters equal a recount of the
items once the stream is quiet. Everything is counted in the sale's own period (a sale that later links
moves from dormant to person in its sale's period); claims in the period they were opened.
"""

from __future__ import annotations

import csv
import io
import math
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from customer_profiles.data import keys
from customer_profiles.data.codec import decode_cursor, encode_cursor
from customer_profiles.data.report import (
    ClaimFacts,
    Counts,
    OrderFacts,
    Tally,
    Where,
    claim_subject,
    order_subject,
)
from customer_profiles.data.store import Store
from customer_profiles.domain.effects.activity import Recorded
from customer_profiles.domain.identity.proofs import reached_at
from customer_profiles.domain.staff.access import require_staff_of
from customer_profiles.errors import InvalidInput
from customer_profiles.models.api import (
    ClaimFigures,
    HeldFigures,
    IdentificationReportResponse,
    ReceiptFigures,
    ReportFigures,
    ReportRow,
)
from customer_profiles.models.domain import Claim, Order, PendingEffect
from customer_profiles.models.principal import Principal
from customer_profiles.retry import on_concurrent_write

Image = dict[str, Any]
Period = Literal["day", "week", "month"]
READERS = frozenset({"admin", "viewer"})
CHANNEL_OF_ORDER = {"pos": "window", "partner": "reseller"}
CHANNELS = ("window", "consumer_app", "white_label", "reseller")
HELD = ("person", "dormant", "anonymous_with_receipt", "anonymous", "erased")
CLAIM_STATES = ("opened", "accepted", "cancelled", "readdressed", "expired")
CLAIM_COUNTER_OF_STATUS = {"claimed": "claims_accepted", "expired": "claims_expired"}
# Sale -> activation times, in a histogram of log buckets: 4 a doubling, so bucket i holds [2^(i/4), 2^((i+1)/4))
# seconds and its geometric middle is within 9.1% (2^(1/8) - 1) of every time in it. Buckets add up across
# shards, days and tills (a median does not), 10 years need about 115 of them, and a period holds only
# those its sales fell in: an exact median would need every time kept and read.
BUCKETS_PER_DOUBLING = 4
BUCKET_PREFIX = "t"
MAX_DAYS = 366  # a report covers at most a year: by day, one page, 16 Queries
DEFAULT_DAYS = 30
DEFAULT_STAFF_PERIODS = 31  # a page by staff: a month of days (rows: one per till and period)
MAX_PERIODS = 366


# --- what a sale and a claim add ------------------------------------------------------------------------
def activation_bucket(seconds: float) -> int:
    return max(0, math.floor(BUCKETS_PER_DOUBLING * math.log2(max(seconds, 1.0))))


def bucket_seconds(bucket: int) -> float:
    """The bucket's geometric middle: within 9.1% of any time in it."""
    return float(2 ** ((bucket + 0.5) / BUCKETS_PER_DOUBLING))


def median_seconds(histogram: dict[int, int]) -> int | None:
    """The (lower) median of the times a histogram holds, as its bucket's middle; None for none."""
    total = sum(histogram.values())
    if total <= 0:
        return None
    rank, seen = (total + 1) // 2, 0
    for bucket in sorted(histogram):
        seen += histogram[bucket]
        if seen >= rank:
            return round(bucket_seconds(bucket))
    return None  # pragma: no cover - the ranks add up to total


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
    """What a record asks to re-tally: an order at a key, every order of a profile or of a user, a claim."""

    kind: Literal["order", "profile", "user", "claim"]
    pk: str
    sk: str = ""

    def as_cause(self) -> dict[str, str]:
        return {"kind": self.kind, "pk": self.pk, "sk": self.sk}


# A profile's change that moves its sales between holders (its children are re-keyed later, or never when
# they held no user: an anonymous sale of a profile an admin attached, or erased).
PROFILE_HOLDING = ("user_id", "reached_at", "erased_at", "merged_into")


def targets_of_change(event_name: str, old: Image | None, new: Image | None) -> list[Target]:  # noqa: PLR0911
    """The tallies a stream record may change (pure): none for anything a tally does not depend on."""
    image = new or old
    if not image or event_name not in {"INSERT", "MODIFY"} or new is None:
        return []  # a removal: the item went elsewhere (its INSERT there re-tallies) or nowhere
    pk, sk = image.get("pk"), image.get("sk")
    if not isinstance(pk, str) or not isinstance(sk, str):
        return []
    before = old or {}
    if keys.profile_of_pk(pk):
        if sk.startswith(keys.ORDER_SK_PREFIX):
            return [Target("order", pk, sk)]
        changed = any(before.get(name) != new.get(name) for name in PROFILE_HOLDING)
        if sk == keys.PROFILE_SK and event_name == "MODIFY" and changed:
            return [Target("profile", pk)]
        return []
    if pk.startswith(keys.CLAIM_PREFIX) and sk == keys.CLAIM_SK:
        return [Target("claim", pk, sk)]
    if pk.startswith(keys.USER_PREFIX) and sk == keys.USER_SK and event_name == "MODIFY":
        if before.get("status") != new.get("status") and isinstance(new.get("user_id"), str):
            return [Target("user", pk)]
        return []
    if pk.startswith(keys.RECEIPT_PREFIX) and sk == keys.RECEIPT_SK and before.get("status") != new.get("status"):
        org_id, profile_id, created_at, order_id = (
            new.get(n) for n in ("org_id", "profile_id", "created_at", "order_id")
        )
        if all(isinstance(value, str) and value for value in (org_id, profile_id, created_at, order_id)):
            key = keys.order_key(str(org_id), str(profile_id), str(created_at), str(order_id))
            return [Target("order", key["pk"], key["sk"])]
    return []


def _next_tally(before: Tally | None, org_id: str, subject: str, where: Where, counts: Counts) -> Tally:
    # Where a tally adds up is fixed when it is first written (an app client registered later moves nothing).
    return Tally(org_id, subject, before.where if before else where, counts, before.version + 1 if before else 1)


def retally_order(store: Store, pk: str, sk: str) -> bool:
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


def retally_claim(store: Store, pk: str) -> bool:
    def attempt() -> bool:
        facts: ClaimFacts | None = store.claim_facts(pk)
        if facts is None:
            return False
        claim = facts.claim
        where = Where(claim.created_at[:10], "reseller")
        after = _next_tally(facts.tally, claim.org_id, claim_subject(claim.claim_id), where, claim_counts(claim))
        return store.write_tally(facts.tally, after, facts.checks)

    return on_concurrent_write(attempt, give_up="the claim's tally kept conflicting; left pending")


def retally(store: Store, target: Target) -> int:
    """Re-derive what `target` names; how many tallies changed."""
    if target.kind == "order":
        return int(retally_order(store, target.pk, target.sk))
    if target.kind == "claim":
        return int(retally_claim(store, target.pk))
    if target.kind == "profile":
        order_keys = store.order_keys_of_profile(target.pk)
    else:
        order_keys = store.order_keys_of_user(target.pk.removeprefix(keys.USER_PREFIX))
    return sum(retally_order(store, pk, sk) for pk, sk in order_keys)


def record_tallies(
    store: Store, record_id: str, event_name: str, old: Image | None, new: Image | None, *, now: str
) -> Recorded:
    """Re-tally what a stream record touches; when that fails, leave it as a `recount` pending effect (one
    PutItem), which the stream, a re-drive or the sweep completes; raises only if that fails too."""
    targets = targets_of_change(event_name, old, new)
    if not targets:
        return Recorded()
    try:
        return Recorded(written=sum(retally(store, target) for target in targets))
    except Exception as error:  # whatever failed (throttling, conflicts past the retries), the recount waits
        store.put_pending(deferred_recount(record_id, targets, now))
        return Recorded(deferred=error)


def deferred_recount(record_id: str, targets: Iterable[Target], now: str) -> PendingEffect:
    cause = {"record_id": record_id, "targets": [t.as_cause() for t in targets]}
    return PendingEffect(kind="recount", effect_id=record_id, cause=cause, created_at=now)


def recount(store: Store, cause: dict[str, Any]) -> int:
    """Complete a `recount` effect: the targets it holds, re-derived from the items as they are now."""
    return sum(retally(store, Target(t["kind"], t["pk"], t.get("sk", ""))) for t in cause["targets"])


# --- the report -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ReportQuery:
    first_day: date | None = None
    last_day: date | None = None
    by: Period = "day"
    by_staff: bool = False
    limit: int | None = None
    cursor: str | None = None


def period_of(day: date, by: Period) -> tuple[str, date, date]:
    """The period holding `day`: its label, first and last day (ISO weeks start on Monday)."""
    if by == "day":
        return day.isoformat(), day, day
    if by == "week":
        year, week, _ = day.isocalendar()
        start = day - timedelta(days=day.weekday())
        return f"{year}-W{week:02d}", start, start + timedelta(days=6)
    start = day.replace(day=1)
    following = (start + timedelta(days=32)).replace(day=1)
    return f"{day.year}-{day.month:02d}", start, following - timedelta(days=1)


def periods(first: date, last: date, by: Period) -> list[tuple[str, date, date]]:
    """Every period from `first` to `last`, each cut to the range (its first and last day within it)."""
    found = []
    day = first
    while day <= last:
        label, _, end = period_of(day, by)
        found.append((label, day, min(end, last)))
        day = end + timedelta(days=1)
    return found


# Days a report may name: this service's sales are all of this millennium, and the period arithmetic stays
# far from the calendar's ends (date.max overflows a month's end).
EARLIEST_DAY, LATEST_DAY = date(2000, 1, 1), date(2999, 12, 31)


def _range(query: ReportQuery, today: date) -> tuple[date, date]:
    for name, day in (("from", query.first_day), ("to", query.last_day)):
        if day is not None and not EARLIEST_DAY <= day <= LATEST_DAY:
            raise InvalidInput(f"`{name}` is a day from {EARLIEST_DAY} to {LATEST_DAY}", field=name)
    last = query.last_day or (
        today if query.first_day is None else min(query.first_day + timedelta(days=DEFAULT_DAYS - 1), today)
    )
    first = query.first_day or last - timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        raise InvalidInput("`from` is after `to`", field="from")
    if (last - first).days + 1 > MAX_DAYS:
        raise InvalidInput(f"a report covers at most {MAX_DAYS} days; ask for the rest separately", field="to")
    return first, last


def _page_start(cursor: str | None, first: date, last: date, by: Period) -> date:
    """Where a page starts: the range's first day, or the period start a cursor of this report holds."""
    if not cursor:
        return first
    position = decode_cursor(cursor)
    try:
        start = date.fromisoformat(position["next"]) if set(position) == {"next"} else None
    except (TypeError, ValueError):
        start = None
    if start is None or not first < start <= last or period_of(start, by)[1] != start:
        raise InvalidInput("invalid cursor", field="cursor")
    return start


def identification_report(
    store: Store, principal: Principal, org_id: str, query: ReportQuery, *, today: date | None = None
) -> IdentificationReportResponse:
    """The org's report for a range of days (at most a year; default the last 30), per period and channel,
    or per period and till (`by_staff`, window sales), to its admins and viewers. One page holds `limit`
    periods (all of a year by default; 31 by staff); `next_cursor` gives the next."""
    require_staff_of(principal, org_id, any_role=READERS)
    first, last = _range(query, today or datetime.now(UTC).date())
    start = _page_start(query.cursor, first, last, query.by)
    limit = query.limit or (DEFAULT_STAFF_PERIODS if query.by_staff else MAX_PERIODS)
    every = periods(start, last, query.by)
    page, rest = every[:limit], every[limit:]
    page_last = page[-1][2]
    label_of_day: dict[str, str] = {}
    for label, period_first, period_last in page:
        for offset in range((period_last - period_first).days + 1):
            label_of_day[(period_first + timedelta(days=offset)).isoformat()] = label
    sums: dict[tuple[str, str, str | None], Counter[str]] = defaultdict(Counter)
    rows = store.report_rows(org_id, start.isoformat(), page_last.isoformat(), staff=query.by_staff)
    for row in rows:
        day_label = label_of_day.get(str(row.get("day")))
        channel = row.get("channel")
        if day_label is None or channel not in CHANNELS:
            continue
        staff = row.get("staff") if query.by_staff else None
        sums[day_label, channel, staff].update(
            {name: value for name, value in row.items() if isinstance(value, int) and not isinstance(value, bool)}
        )
    found: list[ReportRow] = []
    for label, period_first, period_last in page:
        if query.by_staff:
            wanted = sorted((key for key in sums if key[0] == label), key=lambda k: (str(k[2]), k[1]))
        else:
            wanted = [(label, channel, None) for channel in CHANNELS]
        for _, channel, staff in wanted:
            figures = figures_of(sums.get((label, channel, staff), Counter()))
            found.append(
                ReportRow(
                    period=label,
                    first_day=period_first,
                    last_day=period_last,
                    channel=channel,
                    staff=staff,
                    **figures.model_dump(),
                )
            )
    total: Counter[str] = Counter()
    for counter in sums.values():
        total.update(counter)
    return IdentificationReportResponse(
        org_id=org_id,
        first_day=first,
        last_day=last,
        by=query.by,
        by_staff=query.by_staff,
        rows=found,
        totals=figures_of(total),
        next_cursor=encode_cursor({"next": rest[0][1].isoformat()}) if rest else None,
    )


def figures_of(counts: Counter[str]) -> ReportFigures:
    histogram = {
        int(name[len(BUCKET_PREFIX) :]): value
        for name, value in counts.items()
        if name.startswith(BUCKET_PREFIX) and name[len(BUCKET_PREFIX) :].isdigit() and value > 0
    }
    return ReportFigures(
        sales=counts["sales"],
        tickets=counts["tickets"],
        held=HeldFigures(**{name: counts[f"held_{name}"] for name in HELD}),
        receipt_codes=ReceiptFigures(issued=counts["receipt_codes_issued"], redeemed=counts["receipt_codes_redeemed"]),
        claims=ClaimFigures(**{name: counts[f"claims_{name}"] for name in CLAIM_STATES}),
        dormant_holders_activated=counts["activated"],
        median_seconds_to_activation=median_seconds(histogram),
    )


CSV_COLUMNS = (
    "sales",
    "tickets",
    *(f"held_{name}" for name in HELD),
    "receipt_codes_issued",
    "receipt_codes_redeemed",
    *(f"claims_{name}" for name in CLAIM_STATES),
    "dormant_holders_activated",
    "median_seconds_to_activation",
)


def _cell(value: Any) -> Any:
    """A spreadsheet reads a cell starting with = + - @ as a formula: a staff subject is text, kept text."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def report_csv(report: IdentificationReportResponse) -> str:
    """The report's rows as CSV (RFC 4180, a header line first), one line per row; figures flattened."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    staff = ["staff"] if report.by_staff else []
    writer.writerow(["period", "first_day", "last_day", "channel", *staff, *CSV_COLUMNS])
    for row in report.rows:
        flat = row.flat()
        writer.writerow(
            [
                row.period,
                row.first_day.isoformat(),
                row.last_day.isoformat(),
                row.channel,
                *([_cell(row.staff)] if report.by_staff else []),
                *("" if flat[name] is None else flat[name] for name in CSV_COLUMNS),
            ]
        )
    return out.getvalue()
