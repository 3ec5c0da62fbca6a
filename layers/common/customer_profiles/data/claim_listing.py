"""The recipients' listing of open claims: the recipient indexes find candidates, each confirmed on the claim
as it is now; a cursor holds where each recipient's partition stopped."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from customer_profiles.data import keys
from customer_profiles.data.codec import Item, claim_from_item
from customer_profiles.data.cursors import MergedCursor, is_start_key
from customer_profiles.data.table import KeyCondition, Records
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
        position: MergedCursor[Item] = MergedCursor.decode(
            cursor,
            {"to": partitions},
            sources=len(partitions),
            valid_start=lambda source, start: _start_in(start, indexes[source], partitions[source]),
            keeps_last=True,
        )
        page, after = self.db.merged_page(
            [
                {"IndexName": index, "KeyConditionExpression": KeyCondition(f"{index}pk").eq(pk)}
                for index, pk in zip(indexes, partitions, strict=True)
            ],
            position,
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
        candidates = list(dict.fromkeys((i["pk"], i["sk"]) for i in page if i["claim_id"] != position.last))
        next_cursor = after.listed(page[-1]["claim_id"] if page else position.last).encode()
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
    """A start key the listing made: a claim's key in `index`'s partition `pk`, nothing else (DynamoDB
    refuses any other, and a cursor is client input)."""
    return (
        is_start_key(start, partition_attribute=f"{index}pk", partition_value=pk)
        and start["pk"].startswith(keys.CLAIM_PREFIX)
        and start["sk"] == keys.CLAIM_SK
    )
