"""The recipients' listing of open claims: the recipient indexes find candidates, each confirmed on the claim
as it is now; a cursor holds where each recipient's partition stopped."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from customer_profiles.data import keys
from customer_profiles.data.codec import (
    PARTITION_KEY_BYTES,
    Item,
    claim_from_item,
    decode_cursor,
    encode_cursor,
    is_key_value,
)
from customer_profiles.data.table import KeyCondition, Records
from customer_profiles.errors import InvalidInput
from customer_profiles.models.domain import Claim


class ClaimListingRecords(Records):
    def open_claims_to(
        self, identifiers: Sequence[tuple[str, str]], *, limit: int, cursor: str | None
    ) -> tuple[list[tuple[str, Claim]], str | None]:
        """One page of the open claims addressed to any of `identifiers`, newest first, as (token hash,
        claim). The recipient indexes only find candidates: each is read again from the table (strongly
        consistent, one BatchGetItem) and kept only while it is open and still addressed there, so a page
        may hold fewer than `limit`."""
        identifiers = sorted(set(identifiers))
        partitions = [keys.claims_to_pk(kind, value) for kind, value in identifiers]
        indexes = [keys.CLAIM_RECIPIENT_INDEXES[kind] for kind, _ in identifiers]
        starts, done, last = _claims_position(partitions, indexes, cursor)
        page, starts, done = self.db.merged_page(
            [
                {"IndexName": index, "KeyConditionExpression": KeyCondition(f"{index}pk").eq(pk)}
                for index, pk in zip(indexes, partitions, strict=True)
            ],
            starts,
            done,
            limit=limit,
            rank=lambda item: (item["created_at"], item["claim_id"]),
            start_of=lambda source, item: {
                "pk": item["pk"],
                "sk": item["sk"],
                f"{indexes[source]}pk": item[f"{indexes[source]}pk"],
                f"{indexes[source]}sk": item[f"{indexes[source]}sk"],
            },
        )
        # A claim addressed to two of the identifiers comes from both Queries, one after the other: once only,
        # even when a page ends between the two.
        candidates = list(dict.fromkeys((i["pk"], i["sk"]) for i in page if i["claim_id"] != last))
        last = page[-1]["claim_id"] if page else last
        position = {"to": partitions, "after": starts, "done": done, "last": last}
        next_cursor = None if all(done) else encode_cursor(position)
        current = {(i["pk"], i["sk"]): i for i in self.db.batch_get([{"pk": pk, "sk": sk} for pk, sk in candidates])}
        found: list[tuple[str, Claim]] = []
        for key in candidates:
            item = current.get(key)
            if item is None or item.get("status") != "open":
                continue
            claim = claim_from_item(item)
            if set(claim.recipients()) & set(identifiers):
                found.append((key[0].removeprefix(keys.CLAIM_PREFIX), claim))
        return found, next_cursor


def _start_in(start: Any, index: str, pk: str) -> bool:
    """A start key the listing made: an item's key in `index`'s partition `pk`, nothing else (DynamoDB
    refuses any other, and a cursor is client input)."""
    return (
        isinstance(start, dict)
        and set(start) == {"pk", "sk", f"{index}pk", f"{index}sk"}
        and all(is_key_value(start[a], max_bytes=PARTITION_KEY_BYTES) for a in ("pk", f"{index}pk"))
        and all(is_key_value(start[a]) for a in ("sk", f"{index}sk"))
        and start[f"{index}pk"] == pk
        and start["pk"].startswith(keys.CLAIM_PREFIX)
        and start["sk"] == keys.CLAIM_SK
    )


def _claims_position(
    partitions: list[str], indexes: list[str], cursor: str | None
) -> tuple[list[Item | None], list[bool], str | None]:
    """Where each recipient partition's listing stopped and the last claim listed, from a cursor
    `open_claims_to` made for the same identifiers (any other is a 422)."""
    if not cursor:
        return [None] * len(partitions), [False] * len(partitions), None
    position = decode_cursor(cursor)
    valid = (
        isinstance(position, dict)
        and position.get("to") == partitions
        and isinstance(position.get("after"), list)
        and isinstance(position.get("done"), list)
        and len(position["after"]) == len(position["done"]) == len(partitions)
        and all(
            start is None or _start_in(start, index, pk)
            for start, index, pk in zip(position["after"], indexes, partitions, strict=True)
        )
        and all(isinstance(d, bool) for d in position["done"])
        and isinstance(position.get("last"), str | None)
    )
    if not valid:
        raise InvalidInput("invalid cursor", field="cursor")
    return position["after"], position["done"], position.get("last")
