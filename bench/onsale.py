"""An on-sale on paper: which partition key gets hot when 50,000 orders land on one org in one minute.

The orders go through the real use cases (`domain.sales.orders.place_consumer_order`,
`domain.sales.pos.create_pos_sale`) over a `Store` whose DynamoDB is an in-memory stub: it answers the reads
and records every write request the data layer sends (TransactWriteItems, PutItem, UpdateItem, DeleteItem), so
the keys below are the data layer's own, never re-spelled here. From the recorded writes, for the base table
and each GSI of template.yaml: total writes, the hottest partition key's share of them, and its peak writes
and write units per second (1-second buckets, arrivals spread uniformly over the window) against DynamoDB's
1,000 WCU per partition.

Accounting, as DynamoDB does it:
- base table: every Put, Update, Delete and (in a transaction) ConditionCheck is a write on its pk;
- a GSI gets a write only when the item has that index's key attributes before or after; an update that
  changes the index key is a delete at the old key plus a put at the new one (2 writes);
- write units: ceil(size / 1 KB), the size being attribute names + values (strings in UTF-8, numbers
  about 1 byte per 2 digits + 1, 3 bytes per list or map + 1 per element); GSI entries add 100 bytes.
  A transactional write costs twice that on the base table; the WCU column does not double it (read the
  base table's figure x2 where its writes are transactional, as every order's are).

Sign-ups during the on-sale are not orders and are not counted (the buyers registered beforehand).

  python -m bench.onsale [--orders 50000] [--seconds 60] [--seed 7]
"""

from __future__ import annotations

import argparse
import copy
import math
import os
import random
import re
import sys
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT / "layers" / "common") not in sys.path:
    sys.path[:0] = [str(ROOT / "layers" / "common"), str(ROOT)]
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

from customer_profiles.data import keys  # noqa: E402
from customer_profiles.data.store import Store  # noqa: E402
from customer_profiles.domain.effects import tallies  # noqa: E402
from customer_profiles.domain.identity import profiles, users  # noqa: E402
from customer_profiles.domain.sales import orders, pos  # noqa: E402
from customer_profiles.domain.staff import report  # noqa: E402
from customer_profiles.models.api import OrderRequest, PosSaleRequest  # noqa: E402
from customer_profiles.models.principal import Principal  # noqa: E402
from tests.support.template_tables import table_definitions  # noqa: E402

TABLE = "onsale-profiles"
ORG = "org-onsale"
PARTITION_WCU = 1_000  # DynamoDB's write ceiling per partition (and so per partition key)
GSI_ENTRY_OVERHEAD = 100  # bytes DynamoDB adds to each index entry
Item = dict[str, Any]

# The buyers of one on-sale: shares of orders (they add up to 1).
MIX = {
    "app_first": 0.66,  # consumer app, first purchase at the org: creates the profile, then the order
    "app_known": 0.14,  # consumer app, bought at the org before the on-sale (profile exists)
    "app_again": 0.05,  # consumer app, a second order by someone who already bought in this on-sale
    "pos_email": 0.06,  # point of sale, email captured (often with a name): a dormant user
    "pos_phone": 0.03,  # point of sale, phone captured
    "pos_card": 0.03,  # point of sale, anonymous, paid by card (fingerprint recorded)
    "pos_none": 0.03,  # point of sale, nothing captured: an orphan profile
}
TICKETS = {1: 0.25, 2: 0.45, 3: 0.15, 4: 0.15}
# Anonymous sales hash their receipt code with the service's key (Secrets Manager, or a local file): the paper
# on-sale has neither, and the key changes no key the table writes.
RECEIPT_CODE_KEY = b"onsale-bench-key"
TILLS = 60  # the windows selling at the on-sale
GIVEN = ["Ana", "Ben", "Chloé", "David", "Emma", "Farid", "Grace", "Hugo", "Inès", "Jon", "Kim", "Léa", "Marc", "Nora"]
FAMILY = ["Smith", "Martin", "Müller", "García", "Rossi", "Nowak", "Brown", "Dubois", "Silva", "Jensen", "Kowalski"]


# --- the stub DynamoDB: answers reads from memory, records every write ------------------------------
@dataclass
class Write:
    """One item write as DynamoDB applies it: the item before and after (None: absent)."""

    order: int  # which simulated order sent it (-1: setup)
    operation: str  # Put, Update, Delete, ConditionCheck
    key: tuple[str, str]
    before: Item | None
    after: Item | None
    transactional: bool
    by: str = "sale"  # "sale": the request's own writes; "tally": the linker's, keeping the report's counters


@dataclass
class Recorder:
    items: dict[tuple[str, str], Item] = field(default_factory=dict)
    writes: list[Write] = field(default_factory=list)
    order: int = -1  # the order being sent; -1 while setting up (not recorded)
    by: str = "sale"

    def apply(self, operation: str, body: dict[str, Any], *, transactional: bool) -> Item | None:
        where = body["Item"] if operation == "Put" else body["Key"]
        if "pk" not in where:  # an idempotent answer, in the requests table: a hashed key, never hot
            self.items[stored_key(where)] = copy.deepcopy(where)
            return where
        key = (where["pk"], where["sk"])
        before = self.items.get(key)
        if before and body.get("ConditionExpression") == "attribute_not_exists(pk)":  # put-if-new: never over one
            raise AssertionError(f"put-if-new over an existing item {key}")
        if operation == "Put":
            after: Item | None = copy.deepcopy(body["Item"])
        elif operation == "Delete":
            after = None
        elif operation == "Update":
            after = _updated(before or dict(zip(("pk", "sk"), key, strict=True)), body)
        else:  # ConditionCheck: nothing changes
            after = before
        if after is None:
            self.items.pop(key, None)
        else:
            self.items[key] = after
        if self.order >= 0:
            self.writes.append(Write(self.order, operation, key, before, after, transactional, self.by))
        return after


def stored_key(key: dict[str, Any]) -> tuple[str, str]:
    return (key["pk"], key["sk"]) if "pk" in key else ("id", key["id"])


def _updated(item: Item, body: dict[str, Any]) -> Item:
    """A `SET a = :a, #b = :b` update, optionally followed by `ADD #n :n, ...` (the forms the data layer
    sends: the report's counter rows add)."""
    expression = body["UpdateExpression"]
    match = re.fullmatch(r"SET (.+?)(?: ADD (.+))?", expression)
    if not match:
        raise NotImplementedError(f"update expression {expression!r}")
    names = body.get("ExpressionAttributeNames", {})
    values = body.get("ExpressionAttributeValues", {})
    updated = copy.deepcopy(item)
    for assignment in match.group(1).split(", "):
        name, value = (part.strip() for part in assignment.split(" = "))
        updated[names.get(name, name)] = copy.deepcopy(values[value])
    for addition in (match.group(2) or "").split(", ") if match.group(2) else []:
        name, value = addition.split(" ")
        attribute = names.get(name, name)
        updated[attribute] = updated.get(attribute, 0) + values[value]
    return updated


class StubClient:
    """The client methods the data layer calls, over the recorder (Python values, as a resource's client)."""

    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder

    def transact_write_items(self, TransactItems: list[dict[str, Any]]) -> dict[str, Any]:
        for entry in TransactItems:
            ((operation, body),) = entry.items()
            self.recorder.apply(operation, body, transactional=True)
        return {}

    def update_item(self, **body: Any) -> dict[str, Any]:
        return {"Attributes": self.recorder.apply("Update", body, transactional=False)}

    def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        responses = {
            table: [copy.deepcopy(i) for k in r["Keys"] if (i := self.recorder.items.get(stored_key(k)))]
            for table, r in RequestItems.items()
        }
        return {"Responses": responses, "UnprocessedKeys": {}}


class StubTable:
    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder

    def get_item(self, Key: dict[str, str], **_: Any) -> dict[str, Any]:
        item = self.recorder.items.get((Key["pk"], Key["sk"]))
        return {"Item": copy.deepcopy(item)} if item else {}

    def put_item(self, Item: Item, **body: Any) -> dict[str, Any]:
        self.recorder.apply("Put", {"Item": Item, **body}, transactional=False)
        return {}

    def delete_item(self, Key: dict[str, str], **body: Any) -> dict[str, Any]:
        self.recorder.apply("Delete", {"Key": Key, **body}, transactional=False)
        return {}

    def query(self, **_: Any) -> dict[str, Any]:
        raise NotImplementedError("an order does not query; the simulation answers only what an order reads")


class StubResource:
    def __init__(self, recorder: Recorder) -> None:
        self._table = StubTable(recorder)
        self.meta = type("Meta", (), {"client": StubClient(recorder)})()

    def Table(self, name: str) -> StubTable:
        return self._table


# --- the on-sale --------------------------------------------------------------------------------------
def _pick[T](rng: random.Random, weights: dict[T, float]) -> T:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _request(rng: random.Random, model: type[OrderRequest], **extra: Any) -> Any:
    quantity = _pick(rng, TICKETS)
    line = {"kind": "ticket", "item_id": "ev-onsale", "quantity": quantity, "unit_price": 4500}
    return model.model_validate({"currency": "EUR", "payment_method": "card", "lines": [line], **extra})


def _app_buyer(store: Store) -> Principal:
    principal = Principal(kind="user", subject=f"buyer-{uuid.uuid4().hex}", client_id="app")
    users.register_me(store, principal)
    return principal


def simulate(
    orders_count: int,
    seconds: int,
    seed: int,
    *,
    mix: dict[str, float] | None = None,
    one_buyer: bool = False,
    counters: bool = True,
) -> tuple[list[Write], list[float]]:
    """Run the on-sale; returns every recorded write and each order's arrival time (seconds into the window).

    `one_buyer`: every order by one app user, in one profile (a degenerate on-sale, to see the check fail).
    `counters`: each order's INSERT record also goes through the linker's tally (domain.effects.tallies), whose
    writes are recorded with the order's (the identification report's counter rows must not be hot)."""
    rng = random.Random(seed)
    recorder = Recorder()
    store = Store(TABLE, StubResource(recorder), requests_table="requests")
    store.configure_org(ORG, default_region="GB", now="2026-01-01T00:00:00.000Z")
    # Each window sale checks its till's membership in its transaction (a write on that key): the box office's
    # sales spread over its tills, as they do at a venue.
    sellers = [
        Principal(kind="staff", subject=f"till-{n}", client_id="staff", memberships={ORG: frozenset({"pos"})})
        for n in range(TILLS)
    ]
    arrivals = sorted(rng.uniform(0, seconds) for _ in range(orders_count))
    kinds = [_pick(rng, mix or MIX) for _ in range(orders_count)]
    if one_buyer:
        kinds = ["app_first"] * orders_count
    # Buyers registered before the on-sale; known customers bought at the org before it.
    buyers: dict[int, Principal] = {}
    only = _app_buyer(store) if one_buyer else None
    for n, kind in enumerate(kinds):
        if kind.startswith("app"):
            buyers[n] = only or _app_buyer(store)
            if kind == "app_known" and not one_buyer:
                profiles.ensure_user_profile(store, users.current_user_id(store, buyers[n]), ORG, origin="consumer")
    bought: list[Principal] = []
    for n, kind in enumerate(kinds):
        recorder.order = n
        if kind.startswith("app"):
            buyer = buyers[n]
            if kind == "app_again" and bought and not one_buyer:
                buyer = rng.choice(bought)
            orders.place_consumer_order(store, buyer, ORG, _request(rng, OrderRequest))
            bought.append(buyer)
        else:
            customer = _window_customer(rng, kind)
            request = _request(rng, PosSaleRequest, customer=customer)
            pos.create_pos_sale(store, sellers[n % TILLS], ORG, request, receipt_keys=lambda: [RECEIPT_CODE_KEY])
        if counters:  # the linker, on the order's INSERT record: its tally and the report's counter rows
            _tally(store, recorder, n)
        recorder.order = -1
    return recorder.writes, arrivals


def _window_customer(rng: random.Random, kind: str) -> dict[str, Any]:
    """What a window sale of this kind captures of its customer (nothing for an anonymous one)."""
    customer: dict[str, Any] = {}
    if kind == "pos_email":
        customer["email"] = f"{uuid.uuid4().hex[:12]}@example.com"
        if rng.random() < 0.6:
            customer |= {"given_name": rng.choice(GIVEN), "family_name": rng.choice(FAMILY)}
    elif kind == "pos_phone":
        customer["phone"] = f"+447800{rng.randrange(10**6):06d}"  # a valid UK mobile range
    elif kind == "pos_card":
        customer["card_fingerprint"] = uuid.uuid4().hex
    return customer


def _tally(store: Store, recorder: Recorder, order: int) -> None:
    """The linker's tally of the order's new order items, recorded as its writes."""
    recorder.by = "tally"
    placed = [w.key for w in recorder.writes if w.order == order and w.by == "sale" and _is_new_order(w)]
    for pk, sk in placed:
        tallies.retally_order(store, pk, sk)
    recorder.by = "sale"


def _is_new_order(write: Write) -> bool:
    return write.operation == "Put" and write.before is None and (write.after or {}).get("type") == "order"


# --- the figures --------------------------------------------------------------------------------------
def table_indexes() -> dict[str, tuple[str, ...]]:
    """The profiles table's keys from template.yaml: "table" -> (pk,), each GSI -> its key attributes."""
    table = table_definitions()["ProfilesTable"]
    found: dict[str, tuple[str, ...]] = {"table": tuple(k["AttributeName"] for k in table["KeySchema"][:1])}
    for index in table.get("GlobalSecondaryIndexes", []):
        found[index["IndexName"]] = tuple(k["AttributeName"] for k in index["KeySchema"])
    return found


def value_size(value: Any) -> int:
    if isinstance(value, str):
        return len(value.encode())
    if isinstance(value, bool) or value is None:
        return 1
    if isinstance(value, int | float | Decimal):
        digits = len(str(abs(value)).replace(".", "").lstrip("0")) or 1
        return math.ceil(digits / 2) + 1
    if isinstance(value, bytes):
        return len(value)
    if isinstance(value, dict):
        return 3 + sum(len(k.encode()) + value_size(v) + 1 for k, v in value.items())
    if isinstance(value, list | tuple | set):
        return 3 + sum(value_size(v) + 1 for v in value)
    return len(str(value).encode())


def item_size(item: Item) -> int:
    return sum(len(name.encode()) + value_size(value) for name, value in item.items())


def units(size: int) -> int:
    return max(1, math.ceil(size / 1024))


def index_writes(write: Write, attributes: tuple[str, ...]) -> Iterator[tuple[str, int]]:
    """(partition key value, write units) for each write this item write makes on an index."""

    def key_of(item: Item | None) -> tuple[str, ...] | None:
        if item is None or not all(a in item for a in attributes):
            return None
        return tuple(str(item[a]) for a in attributes)

    if write.operation == "ConditionCheck":
        return
    old, new = key_of(write.before), key_of(write.after)
    if new is not None and write.after is not None:
        if old is not None and old != new:
            assert write.before is not None
            yield old[0], units(item_size(write.before) + GSI_ENTRY_OVERHEAD)  # the old entry goes
        yield new[0], units(item_size(write.after) + GSI_ENTRY_OVERHEAD)
    elif old is not None and write.before is not None:
        yield old[0], units(item_size(write.before) + GSI_ENTRY_OVERHEAD)


def figures(writes: list[Write], arrivals: list[float], seconds: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for name, attributes in table_indexes().items():
        count: Counter[str] = Counter()
        per_second: dict[str, Counter[int]] = defaultdict(Counter)
        wcu_per_second: dict[str, Counter[int]] = defaultdict(Counter)
        for write in writes:
            second = min(int(arrivals[write.order]), seconds - 1)
            if name == "table":
                size = item_size(write.after or write.before or {"pk": write.key[0], "sk": write.key[1]})
                made: Iterator[tuple[str, int]] = iter([(write.key[0], units(size))])
            else:
                made = index_writes(write, attributes)
            for key, wcu in made:
                count[key] += 1
                per_second[key][second] += 1
                wcu_per_second[key][second] += wcu
        total = sum(count.values())
        hottest, hottest_count = count.most_common(1)[0] if count else ("-", 0)
        peak = max(per_second[hottest].values(), default=0)
        peak_wcu = max(wcu_per_second[hottest].values(), default=0)
        rows.append(
            {
                "table": name,
                "writes": total,
                "keys": len(count),
                "hottest_key": hottest,
                "hottest_writes": hottest_count,
                "share": hottest_count / total if total else 0.0,
                "peak_writes_per_second": peak,
                "peak_wcu_per_second": peak_wcu,
                "partition_wcu": PARTITION_WCU,
            }
        )
    return rows


def run(orders: int, seconds: int, seed: int, *, one_buyer: bool = False) -> tuple[list[Write], list[float]]:
    return simulate(orders, seconds, seed, one_buyer=one_buyer)


def onsale_figures(
    orders: int = 50_000, seconds: int = 60, seed: int = 7, *, one_buyer: bool = False
) -> list[dict[str, Any]]:
    """The on-sale's figures: one row for the base table and one per GSI (see the module's docstring)."""
    writes, arrivals = run(orders, seconds, seed, one_buyer=one_buyer)
    return figures(writes, arrivals, seconds)


QUERY_PAGE_BYTES = 1024 * 1024  # a Query answers at most 1 MB a page
READ_UNIT_BYTES = 4096  # a read unit: 4 KB strongly consistent, or twice that eventually consistent
YEAR = 365


def report_figures(writes: list[Write], orders: int) -> dict[str, Any]:
    """What the identification report costs: per sale, the linker's tally writes (its transaction's items,
    of them the counter rows, and write units, doubled as transactions are); the hottest counter row's share
    of the table's writes; and a year's report by day at its largest (every shard holding a row for every
    day and channel, each the size of the on-sale's average row): Queries, pages, bytes and read units."""
    tally = [w for w in writes if w.by == "tally"]
    rows = [w for w in tally if w.key[0].startswith((keys.REPORT_PREFIX, keys.REPORT_STAFF_PREFIX))]
    org_rows = Counter(w.key[0] for w in rows if w.key[0].startswith(keys.REPORT_PREFIX))
    table_writes = len(writes)
    final = {w.key: w.after for w in rows if w.key[0].startswith(keys.REPORT_PREFIX) and w.after}
    row_bytes = sum(item_size(item) for item in final.values()) / max(1, len(final))
    per_shard = YEAR * len(report.CHANNELS) * row_bytes
    pages = keys.REPORT_SHARDS * max(1, math.ceil(per_shard / QUERY_PAGE_BYTES))
    return {
        "orders": orders,
        "tally_items_per_sale": len(tally) / orders,
        "counter_rows_per_sale": len(rows) / orders,
        "tally_wcu_per_sale": 2 * sum(units(item_size(w.after or w.before or {})) for w in tally) / orders,
        "hottest_counter_key": org_rows.most_common(1)[0][0] if org_rows else "-",
        "hottest_counter_share": (org_rows.most_common(1)[0][1] / table_writes) if org_rows else 0.0,
        "year_rows": keys.REPORT_SHARDS * YEAR * len(report.CHANNELS),
        "year_row_bytes": round(row_bytes),
        "year_queries": keys.REPORT_SHARDS,
        "year_pages": pages,
        "year_bytes": round(keys.REPORT_SHARDS * per_shard),
        "year_rcu_eventual": keys.REPORT_SHARDS * math.ceil(per_shard / READ_UNIT_BYTES) / 2,
    }


def render_report(figures: dict[str, Any]) -> str:
    return "\n".join(
        [
            "identification report (docs/decisions.md, section 23):",
            f"  per sale, the linker's tally: {figures['tally_items_per_sale']:.2f} items in one transaction, "
            f"{figures['counter_rows_per_sale']:.2f} of them counter rows, {figures['tally_wcu_per_sale']:.1f} WCU",
            f"  hottest counter row {figures['hottest_counter_key']}: {figures['hottest_counter_share']:.2%} of the "
            f"table's writes ({keys.REPORT_SHARDS} shards)",
            f"  a year by day at its largest: {figures['year_rows']:,} rows of ~{figures['year_row_bytes']} B, "
            f"{figures['year_queries']} Queries ({figures['year_pages']} pages), "
            f"{figures['year_bytes'] / 1e6:.1f} MB, {figures['year_rcu_eventual']:,.0f} RCU eventually consistent",
        ]
    )


def render(rows: list[dict[str, Any]], orders: int, seconds: int) -> str:
    lines = [
        f"on-sale: {orders:,} orders in {seconds} s in one org; hottest partition key per table / index",
        f"{'':6} {'writes':>9} {'keys':>7} {'hottest key':38} {'share':>7} {'peak w/s':>9} {'peak WCU/s':>11}",
    ]
    for row in rows:
        key = row["hottest_key"] if len(row["hottest_key"]) <= 38 else row["hottest_key"][:35] + "..."
        lines.append(
            f"{row['table']:6} {row['writes']:9,} {row['keys']:7,} {key:38} {row['share']:7.2%} "
            f"{row['peak_writes_per_second']:9,} {row['peak_wcu_per_second']:6,} / {row['partition_wcu']:,}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=50_000)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    print(report_text(args.orders, args.seconds, args.seed))
    return 0


def report_text(orders: int = 50_000, seconds: int = 60, seed: int = 7) -> str:
    """The hottest keys and the identification report's costs, from one on-sale."""
    writes, arrivals = run(orders, seconds, seed)
    return (
        render(figures(writes, arrivals, seconds), orders, seconds)
        + "\n"
        + render_report(report_figures(writes, orders))
    )


if __name__ == "__main__":
    sys.exit(main())
