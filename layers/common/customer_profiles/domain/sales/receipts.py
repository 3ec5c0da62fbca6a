"""Receipt codes: an anonymous sale's receipt carries a code; whoever redeems it in the app takes that sale
(its order and its entitlements) into their profile in the org, created if they have none there.

Only that sale: an anonymous profile may hold other sales (a card links an org's sales paid with it), each
with its own code, and sharing a holder proves nothing about them. One transaction with the receipt's
`open -> used`, decided on strongly consistent reads.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from customer_profiles.clock import utc_now
from customer_profiles.domain.identity import profiles, users
from customer_profiles.domain.sales import receipt_codes
from customer_profiles.errors import ConcurrentWrite, Erased, Gone, NotFound, TooManyAttempts
from customer_profiles.models.activity import CUSTOMER
from customer_profiles.models.api import ReceiptRedemptionResponse
from customer_profiles.models.domain import Entitlement, Order, Profile, Receipt
from customer_profiles.models.principal import Principal
from customer_profiles.ports.identity import ProfileReads
from customer_profiles.ports.sales import ReceiptRedemption, ReceiptRedemptions, RedeemedSale
from customer_profiles.retry import on_concurrent_write

# Failed attempts per user per window: 10 guesses in 15 minutes at 2^60 codes find nothing by chance, and a
# person who mistypes (the check symbol catches most typos before counting) is not locked out for long.
MAX_FAILED_ATTEMPTS = 10
ATTEMPT_WINDOW_SECONDS = 15 * 60
ATTEMPTS_ACTION = "receipt"
UNKNOWN = "no such receipt code"  # the same for a code never issued: nothing says whether one existed
USED = "this receipt code was used already"
EXPIRED = "this receipt code has expired"
TAKEN = "this purchase already belongs to an account"
# The keys receipt codes are hashed with, current first (more than one during a rotation); read when a code is
# made or looked up, so a request that fails before never reads them.
ReceiptKeys = Callable[[], Sequence[bytes]]


def new_receipt(
    order: Order, entitlements: Sequence[Entitlement], *, expiry_days: int, key: bytes
) -> tuple[str, tuple[str, Receipt]]:
    """A code for an anonymous sale's order: (the code as printed, (its hash, the receipt to store)), hashed
    with `key` (the current receipt-code key)."""
    code = receipt_codes.new_receipt_code()
    expires = datetime.fromisoformat(order.created_at) + timedelta(days=expiry_days)
    receipt = Receipt(
        org_id=order.org_id,
        profile_id=order.profile_id,
        order_id=order.order_id,
        entitlement_ids=[e.entitlement_id for e in entitlements],
        expires_at=expires.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        created_at=order.created_at,
    )
    return code, (receipt_codes.code_hash(receipt_codes.normalised(code), key), receipt)


def redeem_receipt(
    store: ReceiptRedemptions,
    principal: Principal,
    code: str,
    *,
    keys: ReceiptKeys,
    clock: float | None = None,
) -> ReceiptRedemptionResponse:
    """Take the sale the code was printed for. 422 for what cannot be a code or was mistyped (nothing read,
    nothing counted); else each attempt counts against the user's window (429 over it) and is given back
    when it succeeds: 404 unknown, 410 expired or used by someone else, 200 (the first answer) when the
    same person redeems it again. The code is looked for under its hash with each of the receipt-code `keys`:
    a code issued before a rotation stays redeemable."""
    normalised = receipt_codes.normalised(code)
    hashes = [receipt_codes.code_hash(normalised, key) for key in keys()]
    now_seconds = time.time() if clock is None else clock
    window = int(now_seconds) // ATTEMPT_WINDOW_SECONDS
    window_end = (window + 1) * ATTEMPT_WINDOW_SECONDS

    def redeem_for(user_id: str) -> ReceiptRedemptionResponse:
        if not store.take_attempt(
            ATTEMPTS_ACTION, user_id, window, limit=MAX_FAILED_ATTEMPTS, expiration=window_end + ATTEMPT_WINDOW_SECONDS
        ):
            raise TooManyAttempts(
                "too many receipt codes tried: wait before trying again",
                retry_after_seconds=max(1, window_end - int(now_seconds)),
            )
        answer = on_concurrent_write(
            lambda: _redeem_once(store, hashes, user_id),
            give_up="the receipt kept conflicting with concurrent changes; retry",
        )
        store.give_back_attempt(ATTEMPTS_ACTION, user_id, window)
        return answer

    if principal.kind == "user" and principal.user_id:  # the authorizer's (cached) answer: checked in the write
        return users.for_the_caller(store, principal, redeem_for)
    user, _ = users.register_me(store, principal)  # a first visit signs them in, as a claim does
    return redeem_for(user.user_id)


def _redeem_once(store: ReceiptRedemptions, hashes: Sequence[str], user_id: str) -> ReceiptRedemptionResponse:
    found = store.find_receipt(hashes)
    now = utc_now()
    if found is None:
        raise NotFound(UNKNOWN)
    hashed, receipt = found
    if receipt.status == "used":
        if receipt.used_by_user_id == user_id and receipt.answer:
            return ReceiptRedemptionResponse.model_validate(receipt.answer)  # a retry after a lost answer
        raise Gone(USED)
    if receipt.expires_at <= now:
        raise Gone(EXPIRED)
    source = _where_sale_lives(store, receipt)
    if source.erased_at:
        raise Erased("the org erased this purchase's customer: the code gives it to nobody")
    if source.user_id and source.user_id != user_id:
        raise Gone(TAKEN)  # staff attached the sale's profile to a customer
    answer = {"org_id": receipt.org_id, "order_id": receipt.order_id, "profile_created": False, "merged": False}
    if source.user_id == user_id:  # staff gave the sale's profile to this very person: only the code is used
        body = {**answer, "profile_id": source.profile_id}
        return _redeemed(store, ReceiptRedemption(hashed, user_id, now, body))
    order = store.get_order(receipt.org_id, source.profile_id, receipt.created_at, receipt.order_id)
    if order is None:
        raise Gone(TAKEN)  # the sale went elsewhere
    target_id, created = profiles.ensure_user_profile(store, user_id, receipt.org_id, origin="pos", changed_by=CUSTOMER)
    target = store.get_profile(receipt.org_id, target_id)
    if target is None or target.merged_into or target.merging_into or target.user_id != user_id:
        raise ConcurrentWrite("the person's profile in this org is being written; retry")
    entitlements = store.entitlements_by_ids(receipt.org_id, source.profile_id, receipt.entitlement_ids)
    body = {**answer, "profile_id": target.profile_id, "profile_created": created, "merged": not created}
    sale = RedeemedSale(order, entitlements, source, target)
    return _redeemed(store, ReceiptRedemption(hashed, user_id, now, body, sale=sale))


def _redeemed(store: ReceiptRedemptions, redemption: ReceiptRedemption) -> ReceiptRedemptionResponse:
    store.redeem_receipt(redemption)
    return ReceiptRedemptionResponse.model_validate(redemption.answer)


def _where_sale_lives(store: ProfileReads, receipt: Receipt) -> Profile:
    """The live profile holding the sale: the one it was made under, or the one that was merged into."""
    return profiles.live_successor(store, receipt.org_id, receipt.profile_id, holding="sale")
