"""Cursors: the positions of paged reads, opaque to clients (`ports.cursors` encodes them), and their validation.

A cursor is client input. Every start key it carries is checked against the query it resumes (its key
attributes, its partition, its sort-key prefix, DynamoDB's limits) before a request carries it: DynamoDB
would refuse it (a ValidationException) or fail to encode it, and either would answer 500 rather than 422.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from customer_profiles.errors import InvalidInput
from customer_profiles.ports.cursors import decode_cursor, encode_cursor

# DynamoDB's limits on a key attribute's string value, in UTF-8 bytes; an empty one is refused too.
PARTITION_KEY_BYTES = 2048
SORT_KEY_BYTES = 1024


def invalid_cursor() -> InvalidInput:
    return InvalidInput("invalid cursor", field="cursor")


def is_key_value(value: Any, *, max_bytes: int = SORT_KEY_BYTES) -> bool:
    """A string DynamoDB takes as a key attribute's value: not empty, valid UTF-8 (JSON may decode a lone
    surrogate), within the size limit."""
    if not isinstance(value, str) or not value:
        return False
    try:
        return len(value.encode("utf-8")) <= max_bytes
    except UnicodeEncodeError:
        return False


def is_start_key(key: Any, *, partition_attribute: str, partition_value: str, sort_prefix: str = "") -> bool:
    """A start key a query's pages can end on: exactly its key attributes (the table's `pk` and `sk`, and the
    index's pair when the partition is an index's), each a key value, in the query's partition and under its
    sort-key prefix (DynamoDB refuses a start key outside the key condition)."""
    if not isinstance(key, dict):
        return False
    sort_attribute = partition_attribute.removesuffix("pk") + "sk"
    return (
        set(key) == {"pk", "sk", partition_attribute, sort_attribute}
        and key[partition_attribute] == partition_value
        and all(is_key_value(key[a], max_bytes=PARTITION_KEY_BYTES) for a in ("pk", partition_attribute))
        and all(is_key_value(key[a]) for a in ("sk", sort_attribute))
        and key[sort_attribute].startswith(sort_prefix)
    )


def decode_key_cursor(
    cursor: str | None, *, partition_attribute: str, partition_value: str, sort_prefix: str = ""
) -> dict[str, Any] | None:
    """A query's LastEvaluatedKey back from a cursor, only for the query it came from (`is_start_key`)."""
    key = decode_cursor(cursor)
    if key is None:
        return None
    if not is_start_key(
        key, partition_attribute=partition_attribute, partition_value=partition_value, sort_prefix=sort_prefix
    ):
        raise invalid_cursor()
    return key


@dataclass(frozen=True)
class MergedCursor[S]:
    """Where a page merged from several descending Queries stopped (`Table.merged_page`): for each Query,
    the start that resumes it (None: from its top) and whether it is done. `scope` names the listing it pages
    (`{"org": org_id}`), so that a cursor of another listing is refused. A listing whose Queries can meet
    the same item (a claim addressed to two identifiers) `keeps_last`: the last item a page listed."""

    scope: Mapping[str, Any]
    starts: tuple[S | None, ...]
    done: tuple[bool, ...]
    last: str | None = None
    keeps_last: bool = False

    @classmethod
    def first(cls, scope: Mapping[str, Any], sources: int, *, keeps_last: bool = False) -> MergedCursor[S]:
        """The first page's position: every Query from its top."""
        return cls(scope, (None,) * sources, (False,) * sources, keeps_last=keeps_last)

    @classmethod
    def decode(
        cls,
        cursor: str | None,
        scope: Mapping[str, Any],
        *,
        sources: int,
        valid_start: Callable[[int, Any], bool],
        keeps_last: bool = False,
    ) -> MergedCursor[S]:
        """The position a cursor holds, only if the same listing (`scope`, `sources` Queries) made it and
        `valid_start(source, start)` holds for every start; any other is a 422."""
        if not cursor:
            return cls.first(scope, sources, keeps_last=keeps_last)
        position = decode_cursor(cursor)
        starts, done = position.get("after"), position.get("done")
        valid = (
            all(position.get(name) == value for name, value in scope.items())
            and isinstance(starts, list)
            and isinstance(done, list)
            and len(starts) == len(done) == sources
            and all(start is None or valid_start(source, start) for source, start in enumerate(starts))
            and all(isinstance(d, bool) for d in done)
            and (not keeps_last or isinstance(position.get("last"), str | None))
        )
        if not valid:
            raise invalid_cursor()
        last = position.get("last") if keeps_last else None
        return cls(scope, tuple(starts), tuple(done), last, keeps_last)

    def advanced(self, starts: list[S | None], done: list[bool]) -> MergedCursor[S]:
        """This listing's position after a page: where each Query stopped, and which are done."""
        return replace(self, starts=tuple(starts), done=tuple(done))

    def listed(self, last: str | None) -> MergedCursor[S]:
        """This position with the last item a page listed (a listing that `keeps_last`)."""
        return replace(self, last=last)

    def map_starts[T](self, convert: Callable[[S], T]) -> MergedCursor[T]:
        """The same position with each start converted (a sort key to the start key a Query takes, and back)."""
        starts = tuple(None if start is None else convert(start) for start in self.starts)
        return MergedCursor(self.scope, starts, self.done, self.last, self.keeps_last)

    def encode(self) -> str | None:
        """The next page's cursor; None once every Query is done (the listing's last page)."""
        if all(self.done):
            return None
        position = {**self.scope, "after": list(self.starts), "done": list(self.done)}
        if self.keeps_last:
            position["last"] = self.last
        return encode_cursor(position)
