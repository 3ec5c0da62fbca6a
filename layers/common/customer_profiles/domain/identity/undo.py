"""Undoing a move a typed identifier made (docs/decisions.md, undo): a person disowning a sale that reached
them only through an identifier it was typed with, and an org admin unlinking a profile such an identifier
linked to a user.

What was undone goes where a new sale typed with what is left would (`proofs.place_sale`), never back to
whoever undid it: their identifiers leave it, and no pointer names them. Each is one transaction on what was
read (the data layer's `write_disown`, `write_unlink`), keeps its move, flags the profile it reaches for the
org's review and publishes its event. Past the move's retention time nothing says where it came from: 409.
"""

from __future__ import annotations

from collections.abc import Sequence

from customer_profiles.clock import new_id, utc_now
from customer_profiles.domain.identity import profiles, users
from customer_profiles.domain.identity.proofs import place_sale
from customer_profiles.errors import BoughtByYou, ConcurrentWrite, LineageExpired, NotFound
from customer_profiles.models.activity import CUSTOMER
from customer_profiles.models.api import DisownResponse
from customer_profiles.models.domain import (
    CapturedDetails,
    Claim,
    Identifier,
    Move,
    Order,
    Profile,
    ProfileOrigin,
    Proof,
    TypedIdentifier,
)
from customer_profiles.models.principal import Principal
from customer_profiles.ports.effects import publish_effect
from customer_profiles.ports.identity import ProfileChange
from customer_profiles.ports.undo import Destination, Disowning, SaleDisowned, sale_move
from customer_profiles.retry import on_concurrent_write

NO_ORDER = "no such order of yours"
DISOWNABLE_CHANNELS = frozenset({"pos", "partner"})  # sales typed with identifiers; the app's are the buyer's
# Moves a typed or captured identifier made (a disown places a sale by the identifiers it goes on with). A sale
# whose latest move is its placement reached its person by an identifier too: placed with them at once, or with a
# dormant holder whose identifier they proved (an activation, or a link of the holder's profile).
BY_IDENTIFIER = frozenset({"sale", "proof", "attach", "link", "disown"})


def expired(move: Move, now: str) -> bool:
    """The move is past its retention time (DynamoDB may not have deleted it yet)."""
    return move.expires_at is not None and move.expires_at < now


def disown_order(store: Disowning, principal: Principal, order_id: str, reason: str) -> DisownResponse:
    """The caller says the order is not theirs: it leaves them for where its other identifiers lead."""
    user = users.caller_user(store, principal)
    if user is None or user.status != "active":
        raise NotFound(NO_ORDER)

    def attempt() -> DisownResponse:
        found = store.sale_of_user(user.user_id, order_id)
        if found is None:
            raise NotFound(NO_ORDER)  # never theirs, another org's, or disowned already
        order, entitlements = found
        source = store.get_profile(order.org_id, order.profile_id)
        if source is None or source.user_id != user.user_id or source.merged_into or source.erased_at:
            raise NotFound(NO_ORDER)
        if source.merging_into:
            raise ConcurrentWrite("your profile is being merged; retry")
        now = utc_now()
        held = {i for i, _ in store.identifiers_held_by(user.user_id)}
        claim = store.get_claim(order.claim_token_hash) if order.claim_token_hash else None
        left = [t for t in _typed_with(store, order, claim, held, now) if t.identifier not in held]
        origin: ProfileOrigin = "partner" if order.channel == "partner" else "pos"
        target, destination = _sale_destination(store, order.org_id, origin, left, now)
        if destination.user_id == user.user_id:  # what they hold changed since it was read
            raise ConcurrentWrite("your identifiers changed meanwhile; retry")
        moved = order.model_copy(
            update={
                "profile_id": target.after.profile_id,
                "typed": left,
                "reached_at": now if destination.holder_active else None,
                "disowned_at": now,
            }
        )
        move = sale_move(
            "disown", order, entitlements, source, target.after, at=now, by=CUSTOMER, typed=list(left), reason=reason
        )
        detail = {"org_id": order.org_id, "order_id": order.order_id, "profile_id": target.after.profile_id}
        store.write_disown(
            SaleDisowned(
                order=order,
                moved=moved,
                entitlements=entitlements,
                source=source,
                target=target,
                destination=destination,
                dropped=[t.identifier for t in order.typed if t.identifier not in destination.pointers],
                claim=claim if claim is not None and claim.status == "open" else None,
                move=move,
                announce=publish_effect("OrderDisowned", {**detail, "reason": reason}, f"disowned#{move.move_id}", now),
            )
        )
        return DisownResponse(order_id=order.order_id, org_id=order.org_id, disowned_at=now)

    return on_concurrent_write(attempt, give_up="the order kept changing; retry")


def _typed_with(
    store: Disowning, order: Order, claim: Claim | None, held: set[Identifier], now: str
) -> list[TypedIdentifier]:
    """What the sale was typed with, if it reached the person only through one of those identifiers: by a
    proof (its move keeps them all), or placed with them at once because they had proved one. `claim`: its
    claim as read (the same read decides whether an open one follows it)."""
    if order.channel not in DISOWNABLE_CHANNELS:
        raise BoughtByYou("you bought this order yourself")
    if claim is not None and claim.status == "claimed":
        raise BoughtByYou("you accepted this order's claim")
    moves = _moves_of_sale(store, order)
    latest = moves[-1] if moves else None
    if latest is not None:
        if latest.kind == "claim":
            raise BoughtByYou("you accepted this order's claim")
        if latest.kind == "receipt_code":
            raise BoughtByYou("you redeemed this order's receipt code")
        if latest.kind not in BY_IDENTIFIER:
            raise BoughtByYou("this order did not reach you through an email or phone typed with it")
        if expired(latest, now):
            raise LineageExpired("this order reached you too long ago to be disowned")
        return list(latest.typed) or list(order.typed)
    if order.reached_at and order.reached_at != order.created_at:
        # It reached them later than it was made, by a move no longer kept: its retention time passed.
        raise LineageExpired("this order reached you too long ago to be disowned")
    if not any(t.identifier in held for t in order.typed):
        raise BoughtByYou("this order did not reach you through an email or phone typed with it")
    return list(order.typed)


def _moves_of_sale(store: Disowning, order: Order) -> list[Move]:
    """The sale's moves, oldest first: kept under its profile, or (a merge moved it there, which keeps its
    moves where they were) under a profile merged into it."""
    moves = store.moves_of(order.org_id, order.profile_id, "order", order.order_id)
    if moves:
        return moves
    for merged_id in store.merged_profile_ids(order.org_id, order.profile_id):
        if moves := store.moves_of(order.org_id, merged_id, "order", order.order_id):
            return moves
    return []


def _sale_destination(
    store: Disowning, org_id: str, origin: ProfileOrigin, left: Sequence[TypedIdentifier], now: str
) -> tuple[ProfileChange, Destination]:
    """The profile a disowned sale goes under (new, or flagged over its version) and its holder as read."""
    identifiers = [t.identifier for t in left]
    if not identifiers:
        return ProfileChange(None, new_profile(org_id, None, origin, [], now)), Destination(user_id=None)
    holders = store.identifier_holders(identifiers)
    placement = place_sale(identifiers, holders, now)
    holdings = {i: holders.get(i) for i in identifiers}
    proof = Proof(provenance=left[0].provenance, at=now, org_id=org_id)
    if placement.new_holder is not None:
        destination = Destination(
            user_id=placement.user_id,
            new_holder=placement.new_holder,
            claimed=placement.claimed,
            holdings=holdings,
            proof=proof,
            pointers=placement.pointers,
        )
        return ProfileChange(None, new_profile(org_id, placement.user_id, origin, identifiers, now)), destination
    holder = store.get_user(placement.user_id)
    if holder is None or holder.status not in ("active", "dormant"):
        raise ConcurrentWrite("the identifier's holder is being merged; retry")
    if placement.holder_active:
        profile_id: str | None = profiles.ensure_user_profile(store, holder.user_id, org_id, origin=origin)[0]
    else:
        profile_id = store.profile_id_of_user_in_org(holder.user_id, org_id)
    existing = store.get_profile(org_id, profile_id) if profile_id else None
    destination = Destination(
        user_id=holder.user_id,
        holder_active=placement.holder_active,
        holder=holder,
        holdings=holdings,
        pointers=placement.pointers,
    )
    if existing is None:
        if profile_id:
            raise ConcurrentWrite("the holder's profile is being written; retry")
        return ProfileChange(None, new_profile(org_id, holder.user_id, origin, identifiers, now)), destination
    if existing.user_id != holder.user_id or existing.merged_into or existing.merging_into or existing.erased_at:
        raise ConcurrentWrite("the holder's profile is being written; retry")
    flagged = existing.model_copy(update={"needs_review": True, "updated_at": now, "version": existing.version + 1})
    return ProfileChange(existing, flagged, "not_merged"), destination


def new_profile(
    org_id: str, user_id: str | None, origin: ProfileOrigin, identifiers: Sequence[Identifier], now: str
) -> Profile:
    """A profile made for what an undo gave back, captured with the first email and phone it goes on with."""
    emails = [v for k, v in identifiers if k == "email"]
    phones = [v for k, v in identifiers if k == "phone"]
    captured = CapturedDetails(email=emails[0] if emails else None, phone=phones[0] if phones else None)
    return Profile(
        org_id=org_id,
        profile_id=new_id(),
        user_id=user_id,
        origin=origin,
        captured=captured if identifiers else None,
        created_at=now,
        updated_at=now,
        needs_review=True,
    )
