"""The identification report: how well an org knows who its customers are, per period and channel (and per
till), read from the counter rows its tallies add up to (`domain.effects.tallies`), without a Scan
(docs/decisions.md, section 23); as JSON or CSV.
"""

from __future__ import annotations

import csv
import io
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from customer_profiles.domain.effects.tallies import BUCKET_PREFIX, BUCKETS_PER_DOUBLING
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
from customer_profiles.models.principal import Principal
from customer_profiles.ports.cursors import decode_cursor, encode_cursor
from customer_profiles.ports.effects import ReportReads

Period = Literal["day", "week", "month"]
READERS = frozenset({"admin", "viewer"})
CHANNELS = ("window", "consumer_app", "white_label", "reseller")
HELD = ("person", "dormant", "anonymous_with_receipt", "anonymous", "erased")
CLAIM_STATES = ("opened", "accepted", "cancelled", "readdressed", "expired")
MAX_DAYS = 366  # a report covers at most a year: by day, one page, 16 Queries
DEFAULT_DAYS = 30
DEFAULT_STAFF_PERIODS = 31  # a page by staff: a month of days (rows: one per till and period)
MAX_PERIODS = 366


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
    position = decode_cursor(cursor)
    if position is None:
        return first
    try:
        start = date.fromisoformat(position["next"]) if set(position) == {"next"} else None
    except (TypeError, ValueError):
        start = None
    if start is None or not first < start <= last or period_of(start, by)[1] != start:
        raise InvalidInput("invalid cursor", field="cursor")
    return start


def _cursor_to(start: date) -> str | None:
    """The next page's cursor: where it starts, opaque to clients."""
    return encode_cursor({"next": start.isoformat()})


def identification_report(
    store: ReportReads, principal: Principal, org_id: str, query: ReportQuery, *, today: date | None = None
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
        next_cursor=_cursor_to(rest[0][1]) if rest else None,
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
