"""The cursors of paged reads: a merged page's position (`MergedCursor`, `Table.merged_page`) and a query's
start key, each taken back only for the listing that made it."""

from __future__ import annotations

import base64
import json
from types import SimpleNamespace
from typing import Any

import pytest

from customer_profiles.data.cursors import (
    MergedCursor,
    decode_cursor,
    decode_key_cursor,
    encode_cursor,
    is_key_value,
    is_start_key,
)
from customer_profiles.data.table import Table
from customer_profiles.errors import InvalidInput

SCOPE = {"profile": "ORG#o#PROFILE#p"}
PREFIXES = ("ORDER#", "ENT#")


def children_cursor(cursor: str | None) -> MergedCursor[str]:
    return MergedCursor.decode(
        cursor,
        SCOPE,
        sources=len(PREFIXES),
        valid_start=lambda source, sk: is_key_value(sk) and sk.startswith(PREFIXES[source]),
    )


def raw(position: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(position).encode()).decode()


def test_a_position_comes_back_from_its_cursor():
    # Given a position part way through both Queries
    position: MergedCursor[str] = MergedCursor(SCOPE, ("ORDER#2026#o1", None), (False, True))

    # When its cursor is read back by the same listing
    decoded = children_cursor(position.encode())

    # Then it is the same position
    assert decoded == position


def test_the_cursor_keeps_the_listings_wire_format():
    # Clients hold cursors across deploys: the JSON a listing writes stays the same.
    position: MergedCursor[str] = MergedCursor(SCOPE, ("ORDER#2026#o1", None), (False, False))

    assert decode_cursor(position.encode()) == {**SCOPE, "after": ["ORDER#2026#o1", None], "done": [False, False]}


def test_no_cursor_is_the_first_page():
    assert children_cursor(None) == MergedCursor.first(SCOPE, 2)
    assert children_cursor(None).starts == (None, None)


def test_the_last_page_has_no_cursor():
    assert MergedCursor(SCOPE, ("ORDER#1", "ENT#1"), (True, True)).encode() is None


@pytest.mark.parametrize(
    "position",
    [
        {"profile": "ORG#o#PROFILE#other", "after": [None, None], "done": [False, False]},  # another listing
        {"after": [None, None], "done": [False, False]},  # no scope
        {**SCOPE, "after": [None], "done": [False]},  # fewer Queries
        {**SCOPE, "after": [None, None, None], "done": [False, False, False]},  # more Queries
        {**SCOPE, "after": ["ENT#1", None], "done": [False, False]},  # a start outside its Query's prefix
        {**SCOPE, "after": ["ORDER#" + "x" * 1024, None], "done": [False, False]},  # over DynamoDB's limit
        {**SCOPE, "after": ["ORDER#\ud800", None], "done": [False, False]},  # not UTF-8
        {**SCOPE, "after": [7, None], "done": [False, False]},  # not a string
        {**SCOPE, "after": [None, None], "done": [0, False]},  # done as a number
        {**SCOPE, "after": "ORDER#1", "done": [False, False]},  # not a list
    ],
)
def test_a_cursor_the_listing_did_not_make_is_refused(position):
    with pytest.raises(InvalidInput, match="invalid cursor") as refused:
        children_cursor(encode_cursor(position))
    assert refused.value.field == "cursor"


@pytest.mark.parametrize("cursor", ["bm90IGEgY3Vyc29y", "%%%", raw([1, 2]), raw("a string"), "W" * 3])
def test_a_cursor_that_is_not_a_position_is_refused(cursor):
    with pytest.raises(InvalidInput, match="invalid cursor"):
        children_cursor(cursor)


def test_deeply_nested_json_is_refused():
    with pytest.raises(InvalidInput, match="invalid cursor"):
        children_cursor(base64.urlsafe_b64encode(b"[" * 100_000).decode())


def test_a_listing_that_keeps_its_last_item_takes_it_back():
    # Given a claims-like listing that remembers the last item a page listed
    position: MergedCursor[str] = MergedCursor(SCOPE, (None, None), (False, False), keeps_last=True)
    listed = position.listed("claim-9")

    # When its cursor is read back
    decoded = MergedCursor.decode(listed.encode(), SCOPE, sources=2, valid_start=lambda *_: True, keeps_last=True)

    # Then the last item comes back with it
    assert decoded.last == "claim-9"
    assert decode_cursor(listed.encode())["last"] == "claim-9"


def test_a_last_item_that_is_not_a_string_is_refused():
    cursor = encode_cursor({**SCOPE, "after": [None, None], "done": [False, False], "last": 3})
    with pytest.raises(InvalidInput, match="invalid cursor"):
        MergedCursor.decode(cursor, SCOPE, sources=2, valid_start=lambda *_: True, keeps_last=True)


def test_starts_convert_both_ways():
    position: MergedCursor[str] = MergedCursor(SCOPE, ("ORDER#1", None), (False, False))
    keyed = position.map_starts(lambda sk: {"pk": SCOPE["profile"], "sk": sk})
    assert keyed.starts == ({"pk": SCOPE["profile"], "sk": "ORDER#1"}, None)
    assert keyed.map_starts(lambda key: key["sk"]) == position


def test_a_start_key_must_be_exactly_the_querys_keys():
    key = {"pk": "CLAIM#h", "sk": "CLAIM", "gsi1pk": "CLAIMS_TO#email#a@x", "gsi1sk": "2026#c1"}
    where = {"partition_attribute": "gsi1pk", "partition_value": "CLAIMS_TO#email#a@x"}

    assert is_start_key(key, **where)
    assert is_start_key(key, **where, sort_prefix="2026#")
    assert not is_start_key(key, **where, sort_prefix="2027#")
    assert not is_start_key({**key, "extra": "x"}, **where)
    assert not is_start_key({**key, "gsi1pk": "CLAIMS_TO#email#b@x"}, **where)
    assert not is_start_key({**key, "sk": ""}, **where)
    assert not is_start_key({**key, "pk": "P" * 2049}, **where)
    assert not is_start_key(["pk", "sk"], **where)


def test_a_key_cursor_is_taken_back_only_for_its_query():
    key = {"pk": "ACTIVITY#o#p", "sk": "2026#r#000"}
    cursor = encode_cursor(key)

    assert decode_key_cursor(cursor, partition_attribute="pk", partition_value="ACTIVITY#o#p") == key
    assert decode_key_cursor(None, partition_attribute="pk", partition_value="ACTIVITY#o#p") is None
    with pytest.raises(InvalidInput, match="invalid cursor"):
        decode_key_cursor(cursor, partition_attribute="pk", partition_value="ACTIVITY#o#other")


# --- Table.merged_page over fake Queries --------------------------------------------------------------------
class FakeQueries:
    """Descending Queries over fixed items, one per `source`, as DynamoDB pages them (`Limit`, start keys)."""

    def __init__(self, sources: list[list[int]]) -> None:
        self.sources = [sorted(values, reverse=True) for values in sources]

    def query(self, **arguments: Any) -> dict[str, Any]:
        values = self.sources[arguments["source"]]
        start = arguments.get("ExclusiveStartKey")
        left = [v for v in values if start is None or v < int(start["sk"])]
        taken = left[: arguments["Limit"]]
        items = [{"pk": f"S{arguments['source']}", "sk": f"{v:04d}", "value": v} for v in taken]
        response: dict[str, Any] = {"Items": items}
        if len(left) > len(taken):
            response["LastEvaluatedKey"] = {"pk": items[-1]["pk"], "sk": items[-1]["sk"]}
        return response


def fake_table(queries: FakeQueries) -> Table:
    resource = SimpleNamespace(Table=lambda _: queries, meta=SimpleNamespace(client=None))
    return Table("profiles", dynamodb=resource)


@pytest.mark.parametrize("limit", [1, 2, 3, 7])
def test_a_merged_listing_gives_every_item_once_greatest_first(limit):
    # Given three Queries whose items interleave
    sources = [[9, 4, 1], [8, 7, 6, 5], [3, 2]]
    table = fake_table(FakeQueries(sources))
    scope = {"listing": "fake"}

    # When it is paged through its cursors
    listed: list[int] = []
    cursor: str | None = None
    for _ in range(20):
        position: MergedCursor[dict[str, Any]] = MergedCursor.decode(
            cursor, scope, sources=3, valid_start=lambda _, start: isinstance(start, dict)
        )
        page, after = table.merged_page(
            [{"source": source} for source in range(3)],
            position,
            limit=limit,
            rank=lambda item: item["value"],
            start_of=lambda _, item: {"pk": item["pk"], "sk": item["sk"]},
        )
        assert len(page) <= limit
        listed += [item["value"] for item in page]
        cursor = after.encode()
        if cursor is None:
            break

    # Then every item appears once, greatest first, and the last page says it is the last
    assert listed == sorted((v for values in sources for v in values), reverse=True)
    assert cursor is None
