"""Exact unmerge by an org admin (docs/decisions.md, unmerge): a profile merged into another is restored from
the moves its merge kept (its lineage), as long as they are kept.

The request marks the profile `unmerging` with an `unmerge_profile` effect, in one transaction over the
version read. The effect takes back, in steps each guarded by that mark and finding nothing the second time,
the profile's own orders and entitlements still under the survivor, points their open claims and receipt codes
at it, returns its consent statements (and the survivor's it had replaced, where the survivor stated nothing
since), then in one transaction makes it live with its owner and takes from the survivor the emails, phones
and cards it took over. Whatever the survivor gained by itself stays with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from customer_profiles.clock import utc_now
from customer_profiles.domain.identity.proofs import place_sale
from customer_profiles.domain.staff.access import acting_staff, staff_actor
from customer_profiles.errors import ConcurrentWrite, Erased, LineageExpired, NotFound, NotMerged, StateConflict
from customer_profiles.models.activity import SYSTEM, Actor
from customer_profiles.models.domain import CapturedDetails, Identifier, Move, PendingEffect, Profile, Proof, User
from customer_profiles.models.principal import Principal
from customer_profiles.ports.effects import publish_effect
from customer_profiles.ports.identity import ProfileChange
from customer_profiles.ports.staff import UnmergeRequests
from customer_profiles.ports.undo import ProfileUnmerging, UnmergeFinish, move_of
from customer_profiles.retry import on_concurrent_write

ADMINS = frozenset({"admin"})
LIVE_USERS = ("dormant", "active")


def request_unmerge(store: UnmergeRequests, principal: Principal, org_id: str, profile_id: str) -> Profile:
    """Mark a merged profile `unmerging` with its effect (202); a repeat while it is pending changes nothing.
    404: not the org's. 409: not merged (`not_merged`, also once an unmerge is done), its lineage gone
    (`lineage_expired`), erased, or its survivor no longer live."""
    store = acting_staff(store, principal, org_id, any_role=ADMINS)
    actor = staff_actor(principal, org_id, any_role=ADMINS)

    def attempt() -> Profile:
        profile = store.get_profile(org_id, profile_id)
        if profile is None:
            raise NotFound("no such profile")
        if profile.unmerging_at:
            return profile  # asked already: its effect is pending
        if not profile.merged_into:
            raise NotMerged("this profile is not merged into another (never was, or its unmerge is done)")
        if profile.erased_at:
            raise Erased("this profile was erased: it cannot be restored")
        survivor = store.get_profile(org_id, profile.merged_into)
        if survivor is None or survivor.merged_into or survivor.erased_at:
            raise StateConflict("the profile it was merged into is no longer live: it cannot be unmerged")
        if survivor.merging_into:
            raise ConcurrentWrite("the profile it was merged into is being merged; retry")
        now = utc_now()
        merge_moves(store, profile, now=now)
        marked = profile.model_copy(update={"unmerging_at": now, "updated_at": now, "version": profile.version + 1})
        cause = {
            "org_id": org_id,
            "profile_id": profile_id,
            "into": profile.merged_into,
            "requested_at": now,
            "by": actor.stamp(),
        }
        effect = PendingEffect(
            kind="unmerge_profile", effect_id=f"{org_id}#{profile_id}#{marked.version}", cause=cause, created_at=now
        )
        store.write_profiles(ProfileChange(profile, marked, changed_by=actor), announce=effect)
        return marked

    return on_concurrent_write(attempt, give_up="the profile kept changing; retry")


def merge_moves(store: ProfileUnmerging, profile: Profile, *, now: str | None) -> list[Move]:
    """The moves of the profile's latest merge into the profile it is merged into (those after its last
    unmerge), oldest first. With `now`: LineageExpired when none is kept or one is past its retention."""
    moves = store.moves_of(profile.org_id, profile.profile_id, "merge")
    last_undo = max((n for n, m in enumerate(moves) if m.kind == "unmerge"), default=-1)
    merges = [m for m in moves[last_undo + 1 :] if m.kind == "merge" and m.to_profile_id == profile.merged_into]
    if now is not None and not merges:
        raise LineageExpired("this merge's lineage is not kept (merged before it was, or past its retention time)")
    if now is not None and any(m.expires_at and m.expires_at <= now for m in merges):
        raise LineageExpired("this merge is older than the retention time of its lineage: it cannot be undone")
    return merges


def unmerge_profile(store: ProfileUnmerging, cause: dict[str, Any]) -> None:
    """The `unmerge_profile` effect: each step guarded by the profile still unmerging as asked, so a repeat, a
    re-drive or a run after a crash anywhere finishes what is left and changes nothing twice."""
    source = store.get_profile(cause["org_id"], cause["profile_id"])
    if not _still_unmerging(source, cause) or source is None:
        return  # done (or its person erased it meanwhile: nothing is restored)
    survivor = store.get_profile(source.org_id, cause["into"])
    if survivor is None:
        raise ConcurrentWrite("the profile merged into is not there; retry")
    if survivor.merging_into or survivor.merged_into:
        raise ConcurrentWrite("the profile merged into is being merged; retry")
    merges = merge_moves(store, source, now=None)
    order_ids = list(dict.fromkeys(i for m in merges for i in m.order_ids))
    entitlement_ids = list(dict.fromkeys(i for m in merges for i in m.entitlement_ids))
    store.return_children(survivor, source, order_ids, entitlement_ids)
    store.point_open_sales_at(source, order_ids)
    for move in merges:
        if move.consents:
            store.return_consents(survivor, source, move.consents, move.replaced_consents)
    on_concurrent_write(
        lambda: _finish(store, cause, merges), give_up="the profiles kept changing while unmerged; retry"
    )


def _still_unmerging(source: Profile | None, cause: dict[str, Any]) -> bool:
    return bool(
        source is not None
        and not source.erased_at
        and source.unmerging_at == cause["requested_at"]
        and source.merged_into == cause["into"]
    )


@dataclass(frozen=True)
class Owner:
    """Whom the restored profile goes to: an existing live user (as read), a new dormant holder, or nobody."""

    user: User | None = None
    new_holder: User | None = None
    claimed: Sequence[Identifier] = ()
    holdings: dict[Identifier, Any] | None = None
    active: bool = False

    @property
    def user_id(self) -> str | None:
        return self.user.user_id if self.user else self.new_holder.user_id if self.new_holder else None


def _finish(store: ProfileUnmerging, cause: dict[str, Any], merges: Sequence[Move]) -> None:
    source = store.get_profile(cause["org_id"], cause["profile_id"])
    if not _still_unmerging(source, cause) or source is None:
        return
    survivor = store.get_profile(source.org_id, cause["into"])
    if survivor is None or survivor.merging_into or survivor.merged_into:
        raise ConcurrentWrite("the profile merged into is being written; retry")
    now = utc_now()
    owner = owner_of(store, source, survivor, merges, now)
    restored = source.model_copy(
        update={
            "merged_into": None,
            "unmerging_at": None,
            "user_id": owner.user_id,
            "reached_at": now if owner.active else None,
            "updated_at": now,
            "version": source.version + 1,
        }
    )
    reduced, taken = _without_takeover(survivor, merges, now)
    move = _unmerge_move(restored, survivor, merges, taken, Actor.of_stamp(cause.get("by")) or SYSTEM)
    detail = {
        "org_id": source.org_id,
        "profile_id": source.profile_id,
        "survivor_profile_id": survivor.profile_id,
        "orders": len(move.order_ids),
        "entitlements": len(move.entitlement_ids),
        **({"user_id": owner.user_id} if owner.user_id else {}),
    }
    announce = publish_effect("ProfilesUnmerged", detail, f"{source.org_id}#{source.profile_id}#unmerged#{now}", now)
    store.finish_unmerge(
        UnmergeFinish(
            source=source,
            restored=restored,
            survivor=survivor,
            reduced=reduced,
            holder=owner.user,
            new_holder=owner.new_holder,
            claimed=owner.claimed,
            holdings=owner.holdings or {},
            proof=Proof(provenance="staff_captured", at=now, org_id=source.org_id) if owner.new_holder else None,
            move=move,
            announce=announce,
        )
    )


def owner_of(store: ProfileUnmerging, source: Profile, survivor: Profile, merges: Sequence[Move], now: str) -> Owner:
    """Its user before the merge, if still a separate live user with no other profile in the org; else where
    an attach would place it by the first identifier captured on it that the survivor's person did not
    verify (a dormant holder, existing or new), if that holder has no profile in the org; else nobody."""
    org_id = source.org_id
    before = merges[0].from_user_id if merges else source.user_id
    if before and before != survivor.user_id:
        user = store.get_user(before)
        if user and user.status in LIVE_USERS and not store.profile_id_of_user_in_org(before, org_id):
            return Owner(user=user, active=user.status == "active")
    persons = survivor.user_id and {
        i for i, p in store.identifiers_held_by(survivor.user_id) if p.provenance == "verified"
    }
    candidates = [i for i in (source.captured or CapturedDetails()).identifiers() if i not in (persons or set())]
    if not candidates:
        return Owner()
    first = candidates[0]
    holders = store.identifier_holders([first])
    placement = place_sale([first], holders, now)
    holdings = {first: holders.get(first)}
    if placement.new_holder:
        return Owner(new_holder=placement.new_holder, claimed=placement.claimed, holdings=holdings)
    holder = store.get_user(placement.user_id)
    if holder is None or holder.status not in LIVE_USERS or store.profile_id_of_user_in_org(holder.user_id, org_id):
        return Owner()
    return Owner(user=holder, holdings=holdings, active=holder.status == "active")


def _without_takeover(survivor: Profile, merges: Sequence[Move], now: str) -> tuple[Profile, dict[str, list[str]]]:
    """The survivor without the emails, phones and cards the merge listed as taken over (those still there),
    with what that takes; the survivor itself when none is there any more."""
    emails = {e for m in merges for e in m.emails}
    phones = {p for m in merges for p in m.phones}
    cards = {c for m in merges for c in m.cards}
    captured = survivor.captured or CapturedDetails()
    taken = {
        "emails": [e for e in captured.other_emails if e in emails],
        "phones": [p for p in captured.other_phones if p in phones],
        "cards": [c for c in survivor.cards if c in cards],
    }
    if not any(taken.values()):
        return survivor, taken
    kept = captured.model_copy(
        update={
            "other_emails": [e for e in captured.other_emails if e not in emails],
            "other_phones": [p for p in captured.other_phones if p not in phones],
        }
    )
    update = {
        "captured": None if kept == CapturedDetails() else kept,
        "cards": [c for c in survivor.cards if c not in cards],
    }
    return survivor.model_copy(update={**update, "updated_at": now, "version": survivor.version + 1}), taken


def _unmerge_move(
    restored: Profile, survivor: Profile, merges: Sequence[Move], taken: dict[str, list[str]], by: Actor
) -> Move:
    """The unmerge, kept in the restored profile's partition with the merge's moves (it closes them)."""
    return move_of(
        "unmerge",
        "merge",
        home=restored,
        source=survivor,
        target=restored,
        at=restored.updated_at,
        by=by,
        order_ids=list(dict.fromkeys(i for m in merges for i in m.order_ids)),
        entitlement_ids=list(dict.fromkeys(i for m in merges for i in m.entitlement_ids)),
        **taken,
        consents=[s for m in merges for s in m.consents],
    )
