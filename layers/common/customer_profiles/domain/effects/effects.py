"""Pending effects: what each one does, and the one way to complete one (perform, publish, then delete).

The stream delivers each pending item's INSERT to the linker; `redrive` replays whatever is still pending
(a parked batch, a lost record, a crash between the effect and its deletion), under one `RedrivePolicy`
for the linker's schedule and the operator alike. Both go through `complete`, and every effect is
idempotent, so a redelivery or a re-drive racing the stream changes nothing twice.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

from customer_profiles.domain.claims.claim_tokens import claim_token
from customer_profiles.domain.effects import activity, tallies
from customer_profiles.domain.identity import linking, proofs, unmerge
from customer_profiles.domain.privacy import erasure
from customer_profiles.models.activity import CUSTOMER
from customer_profiles.models.domain import Claim, ClaimNotice, PendingEffect
from customer_profiles.models.events import DomainEvent
from customer_profiles.ports.effects import ClaimLinks, StreamStore
from customer_profiles.ports.identity import ProfileLinking, SaleProofs
from customer_profiles.ports.privacy import PersonErasure
from customer_profiles.ports.undo import ProfileUnmerging
from customer_profiles.retry import on_concurrent_write

Publish = Callable[[list[DomainEvent]], None]


class EffectStore(StreamStore, ProfileLinking, SaleProofs, PersonErasure, ProfileUnmerging, Protocol):
    """Completing an effect runs use cases of other families as well (linking, proofs, erasure): the store
    given here implements each of their ports (`data.store.Store` does)."""


def perform(  # noqa: PLR0912 - one branch per kind
    store: EffectStore, effect: PendingEffect, *, links: ClaimLinks | None = None
) -> list[DomainEvent]:
    """Do the effect (again, harmlessly, if it was done before) and return the events it announces. A claim
    notice needs `links` (where its link points, and the key its token is made with)."""
    cause = effect.cause
    match effect.kind:
        case "erase_user":
            identifiers = [(kind, value) for kind, value in cause["identifiers"]]
            erasure.erase_user(store, cause["user_id"], identifiers, cause["at"], by=CUSTOMER)
        case "link_user":
            return linking.link_merged_user(store, cause["from_user_id"], cause["to_user_id"])
        case "rekey_profile":
            profile = store.get_profile(cause["org_id"], cause["profile_id"])
            if profile is not None and profile.user_id == cause["user_id"] and not profile.merged_into:
                store.rekey_children(profile.org_id, profile.profile_id, cause["user_id"])
            # (a profile that changed hands again has a newer re-key of its own)
        case "announce_activation":
            return [linking.activation_event(store, cause["user_id"])]
        case "publish":
            return [DomainEvent(cause["detail_type"], cause["detail"])]
        case "pseudonymise_profile":  # what else an erased profile leaves: each step finds nothing the second time
            store.pseudonymise_children(cause["org_id"], cause["profile_id"])
            store.forget_open_claims_of(cause["org_id"], cause["profile_id"])
            store.forget_consents(cause["org_id"], cause["profile_id"])
            store.forget_answers_about(cause["org_id"], cause["profile_id"])
        case "notify_claim":
            return [claim_notice(effect, links)]
        case "move_entitlements":  # the rest of a large order that moved to its person
            store.move_entitlements(
                cause["org_id"], cause["from_profile_id"], cause["to_profile_id"], cause["entitlement_ids"]
            )
        case "bring_sales":
            identifier = (cause["kind"], cause["value"])
            return proofs.bring_sales(store, identifier, cause["user_id"], cause["proven_at"])
        case "record_activity":  # entries a stream record could not write: each key written once, ever
            activity.write_activity(store, cause["record_id"], activity.deferred_entries(cause))
        case "recount":  # report tallies a stream record could not update: re-derived from the items now
            tallies.recount(store, cause)
        case "unmerge_profile":  # an admin asked for a merged profile back; it publishes through its own effect
            unmerge.unmerge_profile(store, cause)
        case _:  # pragma: no cover - EffectKind is closed
            raise ValueError(f"unknown effect {effect.kind}")
    return []  # done, nothing to announce


def complete(store: EffectStore, effect: PendingEffect, publish: Publish, *, links: ClaimLinks | None = None) -> bool:
    """Perform a pending effect, publish its events, then delete it. False when it was done already."""
    current = store.get_pending(effect)
    if current is None:
        return False  # done by an earlier delivery or a re-drive: nothing to do, nothing to announce
    events = perform(store, current, links=links)
    if events:
        publish(events)
    store.complete_pending(current)
    return True


@dataclass(frozen=True)
class RedrivePolicy:
    """Which pending effects a re-drive completes, and how many passes it makes: the linker's schedule leaves
    the stream its first minutes and makes one pass a run; the operator takes everything until none is left."""

    settle: timedelta = timedelta(0)  # an effect younger than this is left to the stream
    rounds: int = 10  # completing an effect may leave others (a link leaves re-keys): passes until none is left


@dataclass
class Redrive:
    done: int = 0
    failed: list[str] = field(default_factory=list)  # "kind effect_id: error", still pending
    pending: int = 0  # pending when the re-drive started
    oldest_seconds: float = 0.0  # the age of the oldest of those
    left: int = 0  # due but not tried: the time was up (the next re-drive takes them)


def redrive(
    store: EffectStore,
    publish: Publish,
    policy: RedrivePolicy = RedrivePolicy(),
    *,
    links: ClaimLinks | None = None,
    stop: Callable[[], bool] = lambda: False,
) -> Redrive:
    """Complete the pending effects `policy` says are due, oldest first, and those their completion causes,
    until none is left or `stop` says the time is up (asked before each effect); what fails stays pending,
    is reported and is not tried again in this re-drive."""
    result = Redrive()
    failing: set[tuple[str, str]] = set()
    pending = store.all_pending()
    ages = _ages(pending)
    result.pending, result.oldest_seconds = len(pending), max(ages, default=0.0)
    for _ in range(policy.rounds):
        due = [
            e for e, age in zip(pending, ages, strict=True) if not policy.settle or age >= policy.settle.total_seconds()
        ]
        batch = [e for e in due if (e.kind, e.effect_id) not in failing]
        if not batch:
            break
        for tried, effect in enumerate(batch):
            if stop():
                result.left = len(batch) - tried
                return result
            try:
                # The stream may be completing the same effect right now: a lost race is read again.
                complete_once = functools.partial(complete, store, effect, publish, links=links)
                result.done += on_concurrent_write(complete_once, give_up="kept conflicting with the stream")
            except Exception as error:  # one failing effect must not stop the others
                failing.add((effect.kind, effect.effect_id))
                result.failed.append(f"{effect.kind} {effect.effect_id}: {type(error).__name__}: {error}")
        pending = store.all_pending()
        ages = _ages(pending)
    return result


def _ages(pending: list[PendingEffect]) -> list[float]:
    now = datetime.now(UTC)
    return [(now - datetime.fromisoformat(e.created_at)).total_seconds() for e in pending]


def claim_notice(effect: PendingEffect, links: ClaimLinks | None) -> DomainEvent:
    if links is None:
        raise ValueError("a claim notice needs the claim links (the linker and the operator give them)")
    cause = effect.cause
    return claim_notification(Claim.model_validate(cause["claim"]), cause["notice"], effect.effect_id, links)


def claim_notification(claim: Claim, notice: ClaimNotice, notification_id: str, links: ClaimLinks) -> DomainEvent:
    """Asks for a notification to the buyer with the claim link: the first one, a resend, a reminder (at
    least once; the notifier dedupes by `notification_id`). The token is rebuilt from the claim id with the
    server key, so only its hash is stored."""
    link = f"{links.url_base}{claim_token(claim.claim_id, links.token_key())}"
    return DomainEvent(
        notice,
        {
            "notification_id": notification_id,
            "claim_id": claim.claim_id,
            "org_id": claim.org_id,
            "partner_id": claim.partner_id,
            "email": claim.email,
            "phone": claim.phone,
            "claim_url": link,
            "expires_at": claim.expires_at,
            "entitlements": len(claim.entitlement_ids),
        },
    )
