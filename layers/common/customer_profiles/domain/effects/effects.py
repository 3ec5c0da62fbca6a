"""Pending effects: what each one does, and the one way to complete one (perform, publish, then delete).

The stream delivers each pending item's INSERT to the linker; `redrive` replays whatever is still pending
(a parked batch, a lost record, a crash between the effect and its deletion). Both go through `complete`,
and every effect is idempotent, so a redelivery or a re-drive racing the stream changes nothing twice.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field

from customer_profiles.data.store import Store
from customer_profiles.domain.claims.claim_tokens import claim_token
from customer_profiles.domain.effects import activity
from customer_profiles.domain.identity import linking, proofs
from customer_profiles.domain.privacy import erasure
from customer_profiles.domain.staff import report
from customer_profiles.edge.config import settings
from customer_profiles.edge.secrets import claim_token_key
from customer_profiles.models.activity import CUSTOMER
from customer_profiles.models.domain import Claim, ClaimNotice, PendingEffect
from customer_profiles.models.events import DomainEvent
from customer_profiles.retry import on_concurrent_write

Publish = Callable[[list[DomainEvent]], None]


def perform(store: Store, effect: PendingEffect) -> list[DomainEvent]:  # noqa: PLR0912 - one branch per kind
    """Do the effect (again, harmlessly, if it was done before) and return the events it announces."""
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
            return [claim_notice(effect)]
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
            report.recount(store, cause)
        case _:  # pragma: no cover - EffectKind is closed
            raise ValueError(f"unknown effect {effect.kind}")
    return []  # done, nothing to announce


def complete(store: Store, effect: PendingEffect, publish: Publish) -> bool:
    """Perform a pending effect, publish its events, then delete it. False when it was done already."""
    current = store.get_pending(effect)
    if current is None:
        return False  # done by an earlier delivery or a re-drive: nothing to do, nothing to announce
    events = perform(store, current)
    if events:
        publish(events)
    store.complete_pending(current)
    return True


@dataclass
class Redrive:
    done: int = 0
    failed: list[str] = field(default_factory=list)


def redrive(store: Store, publish: Publish, *, rounds: int = 10) -> Redrive:
    """Complete every pending effect, oldest first, and those their completion causes (a link leaves re-keys),
    until none is left; what fails again stays pending and is reported."""
    result = Redrive()
    failing: set[tuple[str, str]] = set()
    for _ in range(rounds):
        batch = [e for e in store.all_pending() if (e.kind, e.effect_id) not in failing]
        if not batch:
            break
        for effect in batch:
            try:
                # The stream may be completing the same effect right now: a lost race is read again.
                result.done += on_concurrent_write(
                    functools.partial(complete, store, effect, publish), give_up="kept conflicting with the stream"
                )
            except Exception as error:  # one failing effect must not stop the others
                failing.add((effect.kind, effect.effect_id))
                result.failed.append(f"{effect.kind} {effect.effect_id}: {type(error).__name__}: {error}")
    return result


def claim_notice(effect: PendingEffect) -> DomainEvent:
    cause = effect.cause
    if "claim" not in cause:  # written before claims had other notices: the cause is the claim itself
        return claim_notification(Claim.model_validate(cause), "ClaimNotificationRequested", effect.effect_id)
    return claim_notification(Claim.model_validate(cause["claim"]), cause["notice"], effect.effect_id)


def claim_notification(claim: Claim, notice: ClaimNotice, notification_id: str) -> DomainEvent:
    """Asks for a notification to the buyer with the claim link: the first one, a resend, a reminder (at
    least once; the notifier dedupes by `notification_id`). The token is rebuilt from the claim id with the
    server key, so only its hash is stored."""
    link = f"{settings().claim_url_base}{claim_token(claim.claim_id, claim_token_key())}"
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
