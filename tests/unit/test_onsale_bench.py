"""The on-sale on paper (bench/onsale.py), small: no partition key of the table or of a GSI takes 1% of its
writes. The keys are the data layer's own (the real use cases over a recording DynamoDB stub)."""

import pytest

from bench import onsale

ORDERS = 2_000
LIMIT = 0.01


@pytest.fixture(scope="module")
def rows():
    return onsale.onsale_figures(orders=ORDERS, seconds=60, seed=11)


def test_every_table_and_index_of_the_template_is_measured(rows):
    assert [r["table"] for r in rows] == ["table", "gsi1", "gsi2"]
    assert all(r["writes"] > ORDERS for r in rows)  # each order writes the table and both indexes


@pytest.mark.parametrize("table", ["table", "gsi1", "gsi2"])
def test_the_hottest_key_takes_under_one_percent_of_writes(rows, table):
    row = next(r for r in rows if r["table"] == table)
    assert row["share"] < LIMIT, f"{row['hottest_key']} takes {row['share']:.2%} of {table}'s writes"
    assert row["peak_wcu_per_second"] < row["partition_wcu"]


def test_the_check_fails_when_every_order_goes_to_one_profile():
    degenerate = onsale.onsale_figures(orders=200, seconds=60, seed=11, one_buyer=True)
    hottest = {r["table"]: r for r in degenerate}
    assert hottest["table"]["share"] >= LIMIT
    assert hottest["table"]["hottest_key"].startswith("ORG#org-onsale#PROFILE#")
    assert hottest["gsi1"]["share"] >= LIMIT


def test_a_gsi_key_change_costs_a_delete_and_a_put():
    index = ("gsi2pk", "gsi2sk")
    before = {"pk": "P", "sk": "S", "gsi2pk": "A", "gsi2sk": "1"}
    moved = onsale.Write(0, "Put", ("P", "S"), before, {**before, "gsi2pk": "B"}, transactional=True)
    same = onsale.Write(0, "Put", ("P", "S"), before, {**before, "note": "x"}, transactional=True)
    gone = onsale.Write(0, "Put", ("P", "S"), before, {"pk": "P", "sk": "S"}, transactional=True)
    check = onsale.Write(0, "ConditionCheck", ("P", "S"), before, before, transactional=True)
    assert [k for k, _ in onsale.index_writes(moved, index)] == ["A", "B"]
    assert [k for k, _ in onsale.index_writes(same, index)] == ["A"]
    assert [k for k, _ in onsale.index_writes(gone, index)] == ["A"]
    assert list(onsale.index_writes(check, index)) == []


def test_item_size_counts_names_and_values_like_dynamodb():
    assert onsale.item_size({"pk": "abc"}) == 2 + 3
    assert onsale.item_size({"n": 12345}) == 1 + 4  # 5 digits: 3 bytes + 1
    assert onsale.units(1024) == 1
    assert onsale.units(1025) == 2


def test_the_reports_counter_rows_are_written_once_a_sale_and_none_is_hot(rows):
    writes, _ = onsale.run(orders=ORDERS, seconds=60, seed=11)
    figures = onsale.report_figures(writes, ORDERS)
    # every sale's tally adds to its day's row (and a window sale to its till's): at least one row a sale
    assert 1 <= figures["counter_rows_per_sale"] < 2
    assert figures["hottest_counter_key"].startswith("REPORT#org-onsale#")
    assert figures["hottest_counter_share"] < LIMIT
    assert figures["year_queries"] == 16


def test_one_counter_row_a_day_would_be_the_hottest_key(monkeypatch):
    from customer_profiles.data import keys

    monkeypatch.setattr(keys.report, "REPORT_SHARDS", 1)  # where report_shard reads it
    writes, _ = onsale.run(orders=500, seconds=60, seed=11)
    assert onsale.report_figures(writes, 500)["hottest_counter_share"] >= LIMIT
