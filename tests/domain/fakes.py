"""In-memory fakes of a few ports (customer_profiles.ports): enough state to hold a domain rule to account,
no table, no moto, no boto3. Each keeps what the real store keeps as a condition (a profile per user per org,
a profile's version) and raises what the real store raises when that condition fails (ConcurrentWrite)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Self

from customer_profiles.errors import ConcurrentWrite
from customer_profiles.models.activity import SYSTEM, Actor
from customer_profiles.models.consents import ConsentStatement
from customer_profiles.models.domain import Claim, Holding, Identifier, Order, Profile, User
from customer_profiles.ports.identity import TypedSale, TypedSaleMove
from customer_profiles.ports.sales import Answered, IdempotentRequest, SaleWrite


class Users:
    """`SubjectUsers`: users by id and the subject each signs in as; who holds each identifier."""

    def __init__(self) -> None:
        self.users: dict[str, User] = {}
        self.subjects: dict[str, str] = {}
        self.holders: dict[Identifier, Holding] = {}

    def add_user(self, user: User, *, holds: Sequence[Identifier] = ()) -> User:
        self.users[user.user_id] = user
        if user.subject:
            self.subjects[user.subject] = user.user_id
        provenance = "verified" if user.status == "active" else "staff_captured"
        for identifier in holds:
            self.holders[identifier] = Holding(user_id=user.user_id, provenance=provenance)
        return user

    def user_id_for_subject(self, subject: str) -> str | None:
        return self.subjects.get(subject)

    def get_user(self, user_id: str) -> User | None:
        return self.users.get(user_id)

    def identifier_holders(self, identifiers: Sequence[Identifier]) -> dict[Identifier, Holding]:
        return {i: self.holders[i] for i in identifiers if i in self.holders}


class Profiles(Users):
    """`UserProfiles`: profiles by (org, id), at most one per user per org (its uniqueness item), each written
    over the version it was read at."""

    def __init__(self) -> None:
        super().__init__()
        self.profiles: dict[tuple[str, str], Profile] = {}
        self.user_profiles: dict[tuple[str, str], str] = {}  # (user, org) -> profile id
        self.created: list[Profile] = []

    def add_profile(self, profile: Profile) -> Profile:
        if profile.user_id and (profile.user_id, profile.org_id) in self.user_profiles:
            raise ConcurrentWrite("the user has a profile in this org already")
        self.profiles[profile.org_id, profile.profile_id] = profile
        if profile.user_id:
            self.user_profiles[profile.user_id, profile.org_id] = profile.profile_id
        self.created.append(profile)
        return profile

    def get_profile(self, org_id: str, profile_id: str) -> Profile | None:
        return self.profiles.get((org_id, profile_id))

    def profile_id_of_user_in_org(self, user_id: str, org_id: str) -> str | None:
        return self.user_profiles.get((user_id, org_id))

    def create_user_profile(self, profile: Profile, changed_by: Actor = SYSTEM) -> None:
        self.add_profile(profile)

    def replace_profile(self, current: Profile, updated: Profile, changed_by: Actor = SYSTEM) -> None:
        stored = self.profiles.get((current.org_id, current.profile_id))
        if stored is None or stored.version != current.version:
            raise ConcurrentWrite("the profile changed since it was read")
        self.profiles[updated.org_id, updated.profile_id] = updated


class ConsumerOrders(Profiles):
    """`ConsumerOrders`: each sale written (its new profile with it, all or nothing) and the first answer
    to each Idempotency-Key. `before_write` runs just before a write commits: what a concurrent request
    writes in between."""

    def __init__(self) -> None:
        super().__init__()
        self.sales: list[SaleWrite] = []
        self.answers: dict[tuple[str, str, str], Answered] = {}
        self.before_write: list[Any] = []

    def answer_and_user_profile(
        self, request: IdempotentRequest, user_id: str, org_id: str
    ) -> tuple[Answered | None, str | None]:
        answered = self.answers.get((request.operation, request.caller, request.key))
        return answered, self.profile_id_of_user_in_org(user_id, org_id)

    def write_sale(self, sale: SaleWrite, answer: tuple[IdempotentRequest, dict[str, Any]] | None = None) -> None:
        while self.before_write:
            self.before_write.pop(0)()
        if sale.new_profile:
            self.add_profile(sale.new_profile)
        elif self.get_profile(sale.order.org_id, sale.order.profile_id) is None:
            raise ConcurrentWrite("the sale's profile is gone")
        self.sales.append(sale)
        if answer:
            request, body = answer
            self.answers[request.operation, request.caller, request.key] = Answered(request.payload_sha256, body)


class SalePlanning(Profiles):
    """`SalePlanning`: the card pointers of anonymous profiles, and the by-user index (which lags the table:
    `index` holds only what it has caught up with)."""

    def __init__(self) -> None:
        super().__init__()
        self.cards: dict[tuple[str, str], str] = {}
        self.index: dict[tuple[str, str], Profile] = {}

    def profile_id_of_card(self, org_id: str, fingerprint: str) -> str | None:
        return self.cards.get((org_id, fingerprint))

    def user_profile_candidate(self, user_id: str, org_id: str) -> Profile | None:
        return self.index.get((user_id, org_id))


class SaleProofs(Profiles):
    """`SaleProofs`: orders by key, the pointers under each typed identifier, claims by hash; a move takes the
    sale and every pointer to it (one transaction in the real store)."""

    def __init__(self) -> None:
        super().__init__()
        self.orders: dict[tuple[str, str, str, str], Order] = {}
        self.pointers: dict[Identifier, list[TypedSale]] = {}
        self.claims: dict[str, Claim] = {}
        self.moves: list[TypedSaleMove] = []
        self.forgotten: list[tuple[Identifier, str]] = []  # (identifier, order id) taken off an order

    def add_typed_sale(self, order: Order, *, placed_with_person: bool = False) -> TypedSale:
        """The order, and a pointer under each identifier it was typed with."""
        self.orders[order.org_id, order.profile_id, order.created_at, order.order_id] = order
        typed = tuple(t.identifier for t in order.typed)
        pointer = TypedSale(
            order.org_id, order.profile_id, order.order_id, order.created_at, (), typed, placed_with_person
        )
        for identifier in typed:
            self.pointers.setdefault(identifier, []).append(pointer)
        return pointer

    def typed_sales(self, identifier: Identifier) -> list[TypedSale]:
        return list(self.pointers.get(identifier, []))

    def drop_typed_sale(self, identifier: Identifier, typed: TypedSale) -> None:
        self.pointers[identifier].remove(typed)

    def forget_typed(self, identifier: Identifier, order: Order) -> bool:
        self.forgotten.append((identifier, order.order_id))
        return True

    def get_order(self, org_id: str, profile_id: str, created_at: str, order_id: str) -> Order | None:
        return self.orders.get((org_id, profile_id, created_at, order_id))

    def get_claim(self, token_hash: str) -> Claim | None:
        return self.claims.get(token_hash)

    def move_sale(self, move: TypedSaleMove, *, reached_at: str) -> None:
        self.moves.append(move)
        order = move.order
        del self.orders[order.org_id, move.source.profile_id, order.created_at, order.order_id]
        moved = order.model_copy(update={"profile_id": move.target.profile_id, "reached_at": reached_at})
        self.orders[order.org_id, move.target.profile_id, order.created_at, order.order_id] = moved
        for identifier in move.typed.typed:
            self.pointers[identifier] = [p for p in self.pointers.get(identifier, []) if p != move.typed]


class ConsentReads:
    """`ConsentReads`: no statement stored for any profile."""

    def consents_of(self, org_id: str, profile_id: str) -> dict[str, ConsentStatement]:
        return {}


class StaffScoped:
    """`StaffScoped`: remembers each scope it was asked for (the real store checks it in every write)."""

    def __init__(self) -> None:
        self.scopes: list[tuple[str, str, frozenset[str]]] = []

    def as_staff(self, org_id: str, subject: str, any_role: Iterable[str]) -> Self:
        self.scopes.append((org_id, subject, frozenset(any_role)))
        return self


class Claims(StaffScoped):
    """`ClaimReads` (with `StaffScoped`): claims by their token's hash."""

    def __init__(self) -> None:
        super().__init__()
        self.claims: dict[str, Claim] = {}

    def get_claim(self, token_hash: str) -> Claim | None:
        return self.claims.get(token_hash)


class Untouchable:
    """A store no call may reach: a rule that must refuse before reading anything fails loudly here."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the store was called ({name}) where the rule should have refused first")
