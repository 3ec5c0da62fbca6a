"""Claims: a reseller's buyer's link to what was bought, kept by its token's hash; what it implies when made (its
notification, its due reminder and expiry), its single use, its cancellation; the recipients' listing and the
schedule have modules of their own (claim_listing, claim_schedule)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from customer_profiles.data import keys
from customer_profiles.data.codec import claim_from_item, entitlement_to_item
from customer_profiles.data.deliveries import add_delivery
from customer_profiles.data.lineage import add_move
from customer_profiles.data.pending import add_pending
from customer_profiles.data.profile_items import profile_holds
from customer_profiles.data.table import Records
from customer_profiles.data.tx import Tx
from customer_profiles.data.users import check_active
from customer_profiles.errors import UserGone
from customer_profiles.models.activity import CUSTOMER
from customer_profiles.models.domain import Claim, ClaimNotice, Entitlement, Move, PendingEffect, Profile
from customer_profiles.ports.claims import Delivery
from customer_profiles.ports.undo import move_of

# What a claim loses when it closes (claimed, cancelled, expired) or its recipient is erased: its place in
# the recipients' listing and its contact details, which nothing needs once no notification is due.
CLOSED_CLAIM_LOSES = "gsi1pk, gsi1sk, gsi2pk, gsi2sk, email, phone"


# A claim's reminder goes out this long before it expires (a claim with less left when it is made is reminded
# on the schedule's first run after it; docs/decisions.md, "Claim reminders and expiry").
REMIND_BEFORE_EXPIRY = timedelta(hours=48)


class ClaimRecords(Records):
    def get_claim(self, token_hash: str) -> Claim | None:
        item = self.db.get(keys.claim_key(token_hash))
        return claim_from_item(item) if item else None

    def cancel_claim(
        self,
        token_hash: str,
        now: str,
        *,
        void: Sequence[Entitlement],
        delivery: Delivery | None = None,
        replaced_by: tuple[Claim, str] | None = None,
    ) -> None:
        """Close an open or expired claim as cancelled (its link dead, out of its recipients' listing) and void
        its entitlements still pending (each guarded by being so). `replaced_by` (a new claim and its token
        hash) is written with it when a new recipient takes over; `delivery` when a partner's event did this.
        One transaction: it fails as a whole if the claim was claimed meanwhile."""
        tx = self.db.tx().update(
            keys.claim_key(token_hash),
            "SET #status = :cancelled, cancelled_at = :now, voided_entitlement_ids = :voided"
            + (", replaced_by = :replacement" if replaced_by else "")
            + f" REMOVE {CLOSED_CLAIM_LOSES}",
            "#status IN (:open, :expired)",
            cancelled="cancelled",
            open="open",
            expired="expired",
            now=now,
            voided=[e.entitlement_id for e in void],
            **({"replacement": replaced_by[0].claim_id} if replaced_by else {}),
        )
        for entitlement in void:
            key = keys.entitlement_key(entitlement.org_id, entitlement.profile_id, entitlement.entitlement_id)
            # dated for the activity trail; who cancelled is the claim's business (an earlier stamp is not it)
            tx.update(
                key,
                "SET #status = :void, status_changed_at = :now REMOVE changed_by ADD #version :one",
                "#status = :pending",
                void="void",
                pending="pending_claim",
                now=now,
                one=1,
            )
        if replaced_by:
            claim, new_hash = replaced_by
            add_claim(tx, claim, new_hash)
            if claim.external_order_id:
                tx.update(
                    keys.partner_order_key(claim.partner_id, claim.external_order_id),
                    "SET claim_token_hash = :hash",
                    "attribute_exists(pk)",
                    hash=new_hash,
                )
        if delivery:
            add_delivery(tx, delivery, at=now)
        tx.execute(self.db.client)

    def forget_claim_recipient(self, token_hash: str) -> None:
        """An open claim whose recipient was erased: its contact details and its place in their listing go
        (its link still works for whoever holds it)."""
        self.db.update_if(keys.claim_key(token_hash), f"REMOVE {CLOSED_CLAIM_LOSES}", "attribute_exists(pk)")

    def resend_claim(self, token_hash: str, claim: Claim, now: str) -> int:
        """Ask for the claim's notification again (a pending effect with its own id); returns the resend's
        number. Guarded by the claim being open and by the count read, so concurrent resends send one."""
        number = claim.resends + 1
        tx = self.db.tx().update(
            keys.claim_key(token_hash),
            "SET resends = :number, resent_at = :now",
            "#status = :open AND expires_at > :now AND (resends = :before OR attribute_not_exists(resends))",
            number=number,
            now=now,
            open="open",
            before=claim.resends,
        )
        add_claim_notice(tx, claim, "ClaimNotificationRequested", f"{claim.claim_id}#resend#{number}", now)
        tx.execute(self.db.client)
        return number

    def use_claim(
        self,
        token_hash: str,
        now: str,
        *,
        source: Profile,
        target: Profile,
        entitlements: Sequence[Entitlement],
        answer: Callable[[list[Entitlement]], dict[str, Any]],
    ) -> list[Entitlement]:
        """Mark the claim used (only while open and unexpired), keeping who used it and `answer` of what was
        activated, take it out of its recipients' listing, and activate its entitlements under `target`.

        Under the same profile they change state in place; under another they move (Put + Delete), each
        guarded by still being pending_claim. All in one transaction.
        """
        assert target.user_id
        activated = [
            entitlement.model_copy(
                update={"status": "active", "profile_id": target.profile_id, "version": entitlement.version + 1}
            )
            for entitlement in entitlements
        ]
        tx = self.db.tx()
        holds, values = profile_holds(target.user_id)
        tx.check(keys.profile_key(target.org_id, target.profile_id), holds, **values)
        check_active(tx, target.user_id, UserGone("the claimer is gone"))
        tx.update(
            keys.claim_key(token_hash),
            "SET #status = :used, used_at = :now, used_by_profile_id = :target, used_by_user_id = :user, "
            f"used_answer = :answer REMOVE {CLOSED_CLAIM_LOSES}",
            "#status = :open AND expires_at > :now",
            used="claimed",
            open="open",
            now=now,
            target=target.profile_id,
            user=target.user_id,
            answer=answer(activated),
        )
        for entitlement, moved in zip(entitlements, activated, strict=True):
            key = keys.entitlement_key(entitlement.org_id, entitlement.profile_id, entitlement.entitlement_id)
            if source.profile_id == target.profile_id:
                tx.update(
                    key,
                    "SET #status = :active ADD #version :one",
                    "#status = :pending",
                    active="active",
                    pending="pending_claim",
                    one=1,
                )
                continue
            tx.put_if_new(entitlement_to_item(moved, target.user_id))
            tx.delete(key, "#status = :pending", pending="pending_claim")
        if entitlements and source.profile_id != target.profile_id:
            add_move(tx, _claim_move(source, target, entitlements, now))
        tx.execute(self.db.client)
        return activated

    def claims_by_hash(self, token_hashes: Iterable[str]) -> dict[str, Claim]:
        """The claims as they are now (one strongly consistent BatchGetItem per 100), by token hash."""
        items = self.db.batch_get([keys.claim_key(h) for h in sorted(set(token_hashes))])
        return {i["pk"].removeprefix(keys.CLAIM_PREFIX): claim_from_item(i) for i in items}


def _claim_move(source: Profile, target: Profile, entitlements: Sequence[Entitlement], now: str) -> Move:
    """A claim's tickets going to the person who accepted it (kept on their profile: never theirs to disown)."""
    order_id = entitlements[0].order_id  # a claim is one order's
    return move_of(
        "claim",
        "order",
        home=target,
        source=source,
        target=target,
        at=now,
        by=CUSTOMER,
        proof="claim",
        order_id=order_id,
        order_ids=[order_id],
        entitlement_ids=[e.entitlement_id for e in entitlements],
    )


def add_claim(tx: Tx, claim: Claim, token_hash: str) -> None:
    """A new claim and what it implies: the claim item (listed to its recipients while open), its
    notification, a pending effect the stream completes (durable: it is removed only once published), and
    when its reminder and its expiry fall due (what the schedule finds them by)."""
    tx.put_if_new(
        {
            **keys.claim_key(token_hash),
            "type": "claim",
            **claim.model_dump(exclude_none=True),
            **keys.claim_recipient_keys(claim.email, claim.phone, claim.created_at, claim.claim_id),
        }
    )
    add_claim_notice(tx, claim, "ClaimNotificationRequested", claim.claim_id, claim.created_at)
    for kind, due_at in (("remind", claim_reminder_due(claim)), ("expire", claim.expires_at)):
        due = {"claim_id": claim.claim_id, "token_hash": token_hash, "kind": kind, "due_at": due_at}
        tx.put_if_new({**keys.claim_due_key(claim.claim_id, due_at, kind), "type": "claim_due", **due})


def claim_reminder_due(claim: Claim) -> str:
    """REMIND_BEFORE_EXPIRY before the claim expires, or when it is made if that is later."""
    remind_at = datetime.fromisoformat(claim.expires_at) - REMIND_BEFORE_EXPIRY
    at = remind_at.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return max(at, claim.created_at)


def add_claim_notice(tx: Tx, claim: Claim, notice: ClaimNotice, notification_id: str, at: str) -> None:
    """Ask for a notification about the claim (its link is rebuilt from the claim id when it is published);
    `notification_id` is unique per notice (the claim id for the first one), so the notifier can dedupe."""
    cause = {"claim": claim.model_dump(mode="json", exclude_none=True), "notice": notice}
    effect = PendingEffect(kind="notify_claim", effect_id=notification_id, cause=cause, created_at=at)
    add_pending(tx, effect)
