"""The sales family's ports: a consumer's purchase, a sale at the venue window, an anonymous sale's receipt
code, a reseller's order; with the write plans each hands to the data layer (everything one sale writes,
in one transaction) and the idempotent request whose first answer a retry gets back."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from customer_profiles.models.activity import SYSTEM, Actor
from customer_profiles.models.consents import ConsentStatement
from customer_profiles.models.domain import (
    Claim,
    Entitlement,
    Holding,
    Identifier,
    Order,
    OrgSettings,
    Partner,
    Profile,
    Proof,
    Receipt,
    User,
)
from customer_profiles.ports.claims import ClaimChanges
from customer_profiles.ports.identity import ProfileReads, Registrations, SubjectUsers, UserProfiles
from customer_profiles.ports.privacy import ConsentReads
from customer_profiles.ports.staff import OrgRegions, StaffScoped, UserStatuses

# --- write plans ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IdempotentRequest:
    """One request under its Idempotency-Key; `payload_sha256` tells a retry from another request."""

    operation: str
    caller: str
    key: str
    payload_sha256: str


@dataclass(frozen=True)
class Answered:
    """What the first request with this key answered, and the hash of the payload it carried."""

    payload_sha256: str
    body: dict[str, Any]


@dataclass
class SaleWrite:
    """Everything one sale writes, in one transaction: all of it or none of it."""

    order: Order
    entitlements: list[Entitlement]
    user_id: str | None
    new_user: User | None = None
    claimed_identifiers: list[Identifier] = field(default_factory=list)  # held by the new dormant user
    proof: Proof | None = None  # how the claimed identifiers are known (window or reseller)
    new_profile: Profile | None = None  # when the sale creates the profile (else it checks the one it uses)
    receipt: tuple[str, Receipt] | None = None  # an anonymous sale's receipt code (its hash) and what it gives
    consents: list[ConsentStatement] = field(default_factory=list)  # what the customer said, newer than stored
    changed_by: Actor = SYSTEM  # who sold: stamped on the new profile and the order (the activity trail)
    # The holder's status as read ("active": a person, the buyer of a consumer purchase; "dormant"): the sale
    # goes to it only if it is still so. `for_the_caller`: the holder is the caller, whose user must still be
    # active (the authorizer's cached answer named it), else UserGone.
    holder_status: str | None = None
    for_the_caller: bool = False
    # Who held each typed identifier when the sale was planned (None: nobody): a proof that commits first
    # changes where the sale goes, so the sale is written only if each is still held so.
    holdings: dict[Identifier, Holding | None] = field(default_factory=dict)
    # Typed identifiers other than the dormant holder's own: whoever proves one first may still take the sale.
    pointers: list[Identifier] = field(default_factory=list)
    # The org's settings an anonymous window sale was decided on (its capture policy): still so, or retry.
    settings: OrgSettings | None = None


@dataclass(frozen=True)
class RedeemedSale:
    """An anonymous sale going to the person who redeemed its code: its order and entitlements (as read)
    from the profile they were sold under to the person's profile in the org."""

    order: Order
    entitlements: Sequence[Entitlement]
    source: Profile
    target: Profile


@dataclass(frozen=True)
class ReceiptRedemption:
    """One redemption, in one transaction: the receipt `open -> used` (only while unexpired), with what it
    answered, and the sale moved to the person (none when it was theirs already)."""

    code_hash: str
    user_id: str
    now: str
    answer: dict[str, Any]
    sale: RedeemedSale | None = None


@dataclass
class PartnerOrderWrite:
    """A reseller's order: the sale's writes, its claim, and the webhook id that makes it exactly once."""

    sale: SaleWrite
    partner_id: str
    webhook_id: str
    body_sha256: str
    response: dict[str, Any]
    claim: Claim
    claim_token_hash: str
    external_order_id: str | None = None  # the partner's own id: with `order_sha256`, exactly once by it
    order_sha256: str = ""


# --- ports --------------------------------------------------------------------------------------------------


class SaleWrites(Protocol):
    def write_sale(self, sale: SaleWrite, answer: tuple[IdempotentRequest, dict[str, Any]] | None = None) -> None: ...


class ConsumerOrders(SaleWrites, SubjectUsers, Protocol):
    """A consumer's purchase in the app (their profile in the org created with the first one)."""

    def answer_and_user_profile(
        self, request: IdempotentRequest, user_id: str, org_id: str
    ) -> tuple[Answered | None, str | None]: ...


class SalePlanning(ProfileReads, Protocol):
    """Where a sale for a captured customer goes: the holder of its identifiers, or the card's profile."""

    def identifier_holders(self, identifiers: Sequence[Identifier]) -> dict[Identifier, Holding]: ...

    def profile_id_of_card(self, org_id: str, fingerprint: str) -> str | None: ...

    def profile_id_of_user_in_org(self, user_id: str, org_id: str) -> str | None: ...

    def user_profile_candidate(self, user_id: str, org_id: str) -> Profile | None: ...


class PosSales(SalePlanning, SaleWrites, OrgRegions, StaffScoped, ConsentReads, UserStatuses, Protocol):
    """A sale at the venue window, exactly once per Idempotency-Key."""

    def answer_and_holders(
        self, request: IdempotentRequest, identifiers: Sequence[Identifier], *, settings_of: str | None = None
    ) -> tuple[Answered | None, dict[Identifier, Holding], OrgSettings | None]: ...


class ReceiptRedemptions(Registrations, UserProfiles, Protocol):
    """An anonymous sale taken by whoever redeems its receipt code, with the failed attempts counted."""

    def take_attempt(self, action: str, user_id: str, window: int, *, limit: int, expiration: int) -> bool: ...

    def give_back_attempt(self, action: str, user_id: str, window: int) -> None: ...

    def find_receipt(self, code_hashes: Sequence[str]) -> tuple[str, Receipt] | None: ...

    def get_order(self, org_id: str, profile_id: str, created_at: str, order_id: str) -> Order | None: ...

    def entitlements_by_ids(
        self, org_id: str, profile_id: str, entitlement_ids: Sequence[str]
    ) -> list[Entitlement]: ...

    def redeem_receipt(self, redemption: ReceiptRedemption) -> None: ...


class PartnerWebhooks(SalePlanning, OrgRegions, ConsentReads, ClaimChanges, Protocol):
    """A reseller's signed messages: an order (with its claim), or an event about one."""

    def get_partner(self, partner_id: str) -> Partner | None: ...

    def earlier_deliveries(
        self, partner_id: str, webhook_id: str, external_order_id: str | None
    ) -> tuple[dict[str, Any] | None, dict[str, Any] | None]: ...

    def write_partner_order(self, write: PartnerOrderWrite) -> None: ...
