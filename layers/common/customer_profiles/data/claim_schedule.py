"""The claim schedule's items: when each open claim's reminder and expiry fall due (written with the claim,
`add_claim`), read by due time in shards, and settled each in one transaction guarded by the claim's state."""

from __future__ import annotations

from customer_profiles.data import keys
from customer_profiles.data.claims import CLOSED_CLAIM_LOSES, add_claim_notice
from customer_profiles.data.codec import Item
from customer_profiles.data.table import KeyCondition, Records
from customer_profiles.models.domain import Claim
from customer_profiles.ports.claims import ClaimDue


class ClaimScheduleRecords(Records):
    def due_claims(self, now: str, *, limit: int) -> tuple[list[ClaimDue], bool]:
        """Reminders and expiries due at `now`, oldest first in each shard, at most `limit` in all (shared
        over the shards), and whether more are due. Strongly consistent Queries on the base table, each paged
        until it has its share or ends (a page may stop at 1 MB)."""
        share = max(1, limit // keys.CLAIM_DUE_SHARDS)
        found: list[ClaimDue] = []
        more = False
        for shard in range(keys.CLAIM_DUE_SHARDS):
            taken: list[ClaimDue] = []
            pages = self.db.query_pages(
                # `#~` sorts after every kind and id, so what falls due exactly at `now` is due.
                KeyConditionExpression=KeyCondition("pk").eq(keys.claim_due_pk(shard))
                & KeyCondition("sk").lte(f"{now}#~"),
                ConsistentRead=True,
                Limit=share + 1,
            )
            for page in pages:
                taken += [_claim_due_from_item(i) for i in page["Items"]]
                if len(taken) > share:
                    break
            more = more or len(taken) > share
            found += taken[:share]
        return found, more

    def remind_claim(self, due: ClaimDue, claim: Claim, now: str) -> None:
        """One transaction: the claim marked reminded (only once, only while open and unexpired), the
        reminder's notification (a pending effect the stream completes) and the due item gone."""
        tx = self.db.tx().update(
            keys.claim_key(due.token_hash),
            "SET reminded_at = :now",
            "attribute_not_exists(reminded_at) AND #status = :open AND expires_at > :now",
            now=now,
            open="open",
        )
        add_claim_notice(tx, claim, "ClaimReminderRequested", f"{claim.claim_id}#reminder", now)
        tx.delete(keys.claim_due_key(due.claim_id, due.due_at, due.kind))
        tx.execute(self.db.client)

    def expire_claim(self, due: ClaimDue, now: str) -> None:
        """One transaction: open -> expired (only once `expires_at` has passed), out of its recipients'
        listing, and the due item gone."""
        self.db.tx().update(
            keys.claim_key(due.token_hash),
            f"SET #status = :expired, expired_at = :now REMOVE {CLOSED_CLAIM_LOSES}",
            "#status = :open AND expires_at <= :now",
            expired="expired",
            open="open",
            now=now,
        ).delete(keys.claim_due_key(due.claim_id, due.due_at, due.kind)).execute(self.db.client)

    def drop_claim_due(self, due: ClaimDue) -> None:
        """A due item with nothing left to do (its claim is no longer open, or expired before its reminder)."""
        self.db.table.delete_item(Key=keys.claim_due_key(due.claim_id, due.due_at, due.kind))


def _claim_due_from_item(item: Item) -> ClaimDue:
    return ClaimDue(claim_id=item["claim_id"], token_hash=item["token_hash"], kind=item["kind"], due_at=item["due_at"])
