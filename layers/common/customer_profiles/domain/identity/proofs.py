"""Proof per sale: who a sale typed with emails and phones goes to, and what a person's proof brings them.

The rule (docs/decisions.md, identity): a sale reaches a person only if they proved an identifier it was
typed with (a verified token claim), redeemed its receipt code, accepted its claim, or an admin attached it by
an identifier they verified; nothing else moves it. So:

- A sale goes to a person who proved one of its identifiers before it was made (an active holder), at once.
- Otherwise a **dormant holder** keeps it: each dormant holder holds exactly one identifier, the one it was
  made for, so proving it brings only sales typed with it. A sale typed with several identifiers goes under
  the holder of the first that has one (or a new holder of the first), and leaves a pointer under each of its
  other identifiers (`TYPED#<identifier>`): whoever proves one of those first finds the sale there.
- Proofs race, so "first" is decided by time: a proof brings a sale unless the sale reached someone by an
  earlier proof (`reached_at`); a sale that reached someone by a later proof moves to the earlier prover.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from customer_profiles.clock import new_id
from customer_profiles.domain.identity import profiles
from customer_profiles.errors import ConcurrentWrite
from customer_profiles.models.domain import Holding, Identifier, Order, Profile, ProfileOrigin, User
from customer_profiles.models.events import DomainEvent
from customer_profiles.ports.identity import SaleProofs, TypedSale, TypedSaleMove


@dataclass(frozen=True)
class Placement:
    """Where a sale typed with `identifiers` goes."""

    user_id: str
    holder_active: bool  # a person who proved one of its identifiers already
    new_holder: User | None = None  # a dormant holder made for the sale's first identifier
    # Its other identifiers: under a dormant holder, whose first prover may still take it; under a person,
    # where the prover or the erasure of the one who proved it finds it, to take that identifier off it.
    pointers: tuple[Identifier, ...] = ()

    @property
    def claimed(self) -> list[Identifier]:
        """What the new dormant holder holds: the one identifier it was made for."""
        if self.new_holder is None:
            return []
        return [("email", self.new_holder.email)] if self.new_holder.email else [("phone", self.new_holder.phone or "")]


def place_sale(identifiers: Sequence[Identifier], holders: Mapping[Identifier, Holding], now: str) -> Placement:
    """The person who proved one of `identifiers` (the first, in the order typed, that a person holds), else
    the dormant holder of the first one that has one, else a new dormant holder of the first. A person's
    identifiers are `verified`; a dormant holder's are hints (the identity policy)."""
    assert identifiers, "an anonymous sale has no holder"
    for identifier in identifiers:
        holding = holders.get(identifier)
        if holding is not None and holding.provenance == "verified":
            # Its other identifiers (but this person's own) get pointers too: whoever proves one finds it
            # (theirs no more, it leaves the order), and so does the erasure of whoever proved one.
            others = tuple(i for i in identifiers if not _held_by(holders, i, holding.user_id))
            return Placement(user_id=holding.user_id, holder_active=True, pointers=others)
    primary = next((i for i in identifiers if i in holders), None)
    new_holder = None
    if primary is None:
        primary = identifiers[0]
        kind, value = primary
        new_holder = User(
            user_id=new_id(),
            status="dormant",
            email=value if kind == "email" else None,
            phone=value if kind == "phone" else None,
            created_at=now,
            updated_at=now,
        )
        user_id = new_holder.user_id
    else:
        user_id = holders[primary].user_id
    return Placement(
        user_id=user_id,
        holder_active=False,
        new_holder=new_holder,
        pointers=tuple(i for i in identifiers if i != primary),
    )


def _held_by(holders: Mapping[Identifier, Holding], identifier: Identifier, user_id: str) -> bool:
    holding = holders.get(identifier)
    return holding is not None and holding.user_id == user_id


def reached_at(order: Order, profile: Profile, holder: User | None) -> str | None:
    """When `order`, under `profile` held by `holder`, reached a person: None while a dormant holder (or
    nobody) has it. Stamped on the order when it moved to its person alone; else when its profile came to
    them whole; else when its holder became (or was folded into) a person, or later if it was made later."""
    if order.reached_at:
        return order.reached_at
    if holder is None:
        return None
    since = holder.reached_person_at()
    if since is None:
        return None
    if holder.status == "active" and profile.reached_at:
        since = profile.reached_at
    return max(order.created_at, since)


def bring_sales(store: SaleProofs, identifier: Identifier, user_id: str, proven_at: str) -> list[DomainEvent]:
    """`user_id` proved `identifier` at `proven_at`: each sale typed with it that no earlier proof reached
    moves to their profile in its org (created if they have none). Every pointer read is done with: the sale
    moved, or it belongs to whoever proved first, and the pointer goes. Idempotent; a repeat finds nothing."""
    person = store.get_user(user_id)
    if person is None or person.status != "active":
        return []  # erased (or never finished) since: nothing of theirs to bring
    brought: list[dict[str, str]] = []
    for typed in store.typed_sales(identifier):
        moved = _bring_one(store, typed, identifier, person, proven_at)
        if moved:
            brought.append({"org_id": typed.org_id, "order_id": typed.order_id, "profile_id": moved})
    if not brought:
        return []
    kind, _ = identifier
    return [DomainEvent("SalesLinked", {"user_id": user_id, "proved": kind, "sales": brought})]


def _bring_one(store: SaleProofs, typed: TypedSale, identifier: Identifier, person: User, proven_at: str) -> str | None:
    """The profile the sale moved to, or None when it stays where it is (its pointer goes either way)."""
    source = profiles.live_successor(store, typed.org_id, typed.profile_id, holding="sale")
    if source.erased_at:  # its customer was erased: it stays with the org's records, pseudonymised
        store.drop_typed_sale(identifier, typed)
        return None
    order = store.get_order(typed.org_id, source.profile_id, typed.order_created_at, typed.order_id)
    if order is None:  # it moved on alone (another proof, a claim's move of the order): decided elsewhere
        store.drop_typed_sale(identifier, typed)
        return None
    holder = store.get_user(source.user_id) if source.user_id else None
    reached = reached_at(order, source, holder)
    if source.user_id == person.user_id or (holder is not None and holder.merged_into == person.user_id):
        store.drop_typed_sale(identifier, typed)  # theirs already (or on its way, with a holder folded into them)
        return None
    if typed.placed_with_person or (reached is not None and reached <= proven_at):
        # It went to a person as it was made (its placement weighed every proof made before it, by the order
        # typed; its transaction checked the holders it read), or an earlier proof reached it: the identifier
        # (theirs, not its owner's) leaves it with its pointer.
        store.forget_typed(identifier, order)
        store.drop_typed_sale(identifier, typed)
        return None
    claim = store.get_claim(order.claim_token_hash) if order.claim_token_hash else None
    if claim is not None and claim.status == "claimed":  # accepting its claim decided where it went
        store.forget_typed(identifier, order)
        store.drop_typed_sale(identifier, typed)
        return None
    origin: ProfileOrigin = "partner" if order.channel == "partner" else "pos"
    target_id, _ = profiles.ensure_user_profile(store, person.user_id, typed.org_id, origin=origin)
    target = store.get_profile(typed.org_id, target_id)
    if target is None or target.merged_into or target.merging_into:
        raise ConcurrentWrite("the person's profile in this org is being written; retry")
    open_claim = claim if claim is not None and claim.status == "open" else None
    store.move_sale(
        TypedSaleMove(order, typed, identifier, source=source, holder=holder, target=target, claim=open_claim),
        reached_at=proven_at,
    )
    return target.profile_id
