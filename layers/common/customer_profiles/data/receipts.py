"""Receipt codes of anonymous sales (kept by keyed hash), their single-use redemption, and the failed-attempt
counters that rate-limit guessing."""

from __future__ import annotations

from collections.abc import Sequence

from botocore.exceptions import ClientError

from customer_profiles.data import keys
from customer_profiles.data.codec import receipt_from_item, receipt_to_item
from customer_profiles.data.moves import add_sale_move
from customer_profiles.data.table import Records
from customer_profiles.data.tx import Tx
from customer_profiles.data.users import check_active
from customer_profiles.errors import UserGone
from customer_profiles.models.domain import Receipt
from customer_profiles.ports.sales import ReceiptRedemption


def add_receipt(tx: Tx, code_hash: str, receipt: Receipt) -> None:
    """A new receipt, in its sale's transaction (a sale never exists with a code that does not)."""
    tx.put_if_new(receipt_to_item(code_hash, receipt))


class ReceiptRecords(Records):
    def get_receipt(self, code_hash: str) -> Receipt | None:
        item = self.db.get(keys.receipt_key(code_hash))
        return receipt_from_item(item) if item else None

    def find_receipt(self, code_hashes: Sequence[str]) -> tuple[str, Receipt] | None:
        """The receipt stored under one of a code's hashes (one per receipt-code key), with that hash: one
        strongly consistent BatchGetItem, whatever DynamoDB leaves unprocessed."""
        wanted = {keys.receipt_key(h)["pk"]: h for h in code_hashes}
        found = self.db.batch_get([keys.receipt_key(h) for h in code_hashes])
        item = next(iter(sorted(found, key=lambda i: i["pk"])), None)  # two would need an HMAC collision
        return (wanted[item["pk"]], receipt_from_item(item)) if item else None

    def redeem_receipt(self, redemption: ReceiptRedemption) -> None:
        tx = self.db.tx().update(
            keys.receipt_key(redemption.code_hash),
            "SET #status = :used, used_at = :now, used_by_user_id = :user, #answer = :answer",
            "#status = :open AND expires_at > :now",
            used="used",
            open="open",
            now=redemption.now,
            user=redemption.user_id,
            answer=redemption.answer,
        )
        if redemption.sale:
            sale = redemption.sale
            add_sale_move(
                tx,
                sale.order,
                sale.entitlements,
                sale.source,
                sale.target,
                holder=None,
                reached_at=redemption.now,
                kind="receipt_code",
                proof="receipt_code",
                typed=sale.order.typed,
                for_the_caller=True,
            )
        else:
            check_active(tx, redemption.user_id, UserGone("the caller's user is not active"))
        tx.execute(self.db.client)

    def take_attempt(self, action: str, user_id: str, window: int, *, limit: int, expiration: int) -> bool:
        """Count one attempt in the user's window, unless it holds `limit` already (then False). Counted
        before the attempt, so concurrent guesses cannot all slip under the limit."""
        update = Tx(self.requests_table).update(
            keys.attempts_key(action, user_id, window),
            "ADD attempts :one SET expiration = :expiration",
            "attribute_not_exists(id) OR attempts < :limit",
            one=1,
            limit=limit,
            expiration=expiration,
        )
        try:
            self.db.client.update_item(**update.items[0]["Update"])
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def give_back_attempt(self, action: str, user_id: str, window: int) -> None:
        """An attempt that succeeded is not a failed one."""
        update = Tx(self.requests_table).update(
            keys.attempts_key(action, user_id, window), "ADD attempts :minus_one", "attribute_exists(id)", minus_one=-1
        )
        try:
            self.db.client.update_item(**update.items[0]["Update"])
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
