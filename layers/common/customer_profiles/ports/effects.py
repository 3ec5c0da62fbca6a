"""The effects family's ports: what a table's stream record means (one typed change, read once by
`data.changes`), the report's tallies, the claim link, and the store operations the stream's use cases call
(`domain.effects`, the report's read in `domain.staff.report`). `data.store.Store` implements every Protocol.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from customer_profiles.models.activity import ActivityEntry, Actor
from customer_profiles.models.consents import ConsentStatement
from customer_profiles.models.domain import (
    Claim,
    Entitlement,
    Move,
    Order,
    OrgSettings,
    PendingEffect,
    Profile,
    Receipt,
    User,
)

# --- one stream record, as one typed change ----------------------------------------------------------------
Event = Literal["INSERT", "MODIFY", "REMOVE"]


@dataclass(frozen=True)
class ItemKey:
    """A stored item's key, opaque to the domain: handed back to the store to read the item again."""

    pk: str
    sk: str


@dataclass(frozen=True, kw_only=True)
class ItemChanged[M]:
    """An item of ours written, changed or removed: its images as models (None where the item was not, or
    is not), and who its writer stamped on the newest image (`changed_by`; None when nobody is)."""

    event: Event
    key: ItemKey
    old: M | None
    new: M | None
    changed_by: Actor | None = None


@dataclass(frozen=True, kw_only=True)
class ProfileChanged(ItemChanged[Profile]):
    org_id: str
    profile_id: str


@dataclass(frozen=True, kw_only=True)
class OrderChanged(ItemChanged[Order]):
    org_id: str  # the profile whose partition holds it
    profile_id: str
    moved_from: str | None = None  # the profile a merge moved it from: placed before, not now


@dataclass(frozen=True, kw_only=True)
class EntitlementChanged(ItemChanged[Entitlement]):
    org_id: str
    profile_id: str
    status_changed_at: str | None = None  # when its status last changed (a void)


@dataclass(frozen=True, kw_only=True)
class ConsentChanged(ItemChanged[ConsentStatement]):
    org_id: str
    profile_id: str
    purpose: str  # from the item's key
    changed_at: str | None = None  # when a writer moved or removed the statement (on the newest image)


@dataclass(frozen=True)
class ClaimTimes:
    """When a claim was claimed, cancelled or expired, and the profile that received it (beside the model)."""

    used_at: str | None = None
    used_by_profile_id: str | None = None
    cancelled_at: str | None = None
    expired_at: str | None = None


@dataclass(frozen=True, kw_only=True)
class ClaimChanged(ItemChanged[Claim]):
    times: ClaimTimes = ClaimTimes()  # of the new image


@dataclass(frozen=True, kw_only=True)
class UserChanged(ItemChanged[User]): ...


@dataclass(frozen=True, kw_only=True)
class ReceiptChanged(ItemChanged[Receipt]):
    order_key: ItemKey  # the sale it was issued for


@dataclass(frozen=True, kw_only=True)
class MoveKept(ItemChanged[Move]):
    """A move kept in the lineage (its partition's profile: `move.profile_id`)."""


@dataclass(frozen=True, kw_only=True)
class OrgSettingsChanged(ItemChanged[OrgSettings]):
    org_id: str


@dataclass(frozen=True)
class PendingEffectAdded:
    """A pending effect written: work to complete."""

    effect: PendingEffect


@dataclass(frozen=True)
class OtherChange:
    """Any other record: an item no use case of the stream reads, or one that is not a model of its kind
    (`unreadable` says why)."""

    event: str
    key: ItemKey | None = None
    unreadable: str | None = None


StreamChange = (
    PendingEffectAdded
    | ProfileChanged
    | OrderChanged
    | EntitlementChanged
    | ConsentChanged
    | ClaimChanged
    | UserChanged
    | ReceiptChanged
    | OrgSettingsChanged
    | MoveKept
    | OtherChange
)


@dataclass(frozen=True)
class StreamRecord:
    """A stream record: its id and time (the same for every delivery of it) and the change it carries."""

    record_id: str
    record_time: str  # when the stream saw the change, as `utc_now` writes times
    change: StreamChange


def publish_effect(detail_type: str, detail: dict[str, Any], effect_id: str, now: str) -> PendingEffect:
    """A pending effect that publishes an event, known in full when its cause is written (with the cause)."""
    cause = {"detail_type": detail_type, "detail": detail}
    return PendingEffect(kind="publish", effect_id=effect_id, cause=cause, created_at=now)


# --- the report's tallies ----------------------------------------------------------------------------------
Counts = dict[str, int]


@dataclass(frozen=True)
class Where:
    """Where a tally adds up: its sale's day (UTC), channel and, for a window sale, the till's staff subject.
    Fixed when the tally is first written."""

    day: str
    channel: str
    staff: str | None = None


@dataclass(frozen=True)
class Tally:
    """What one sale or claim adds to the report, at the version it was read."""

    org_id: str
    subject: str  # order#<order_id> or claim#<claim_id>
    where: Where
    counts: Counts
    version: int


@dataclass(frozen=True)
class Check:
    """An item a tally was derived from, as it was read: the tally is written only if it is still so."""

    key: dict[str, str]
    condition: str
    values: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class OrderFacts:
    """What an order's tally is derived from, read strongly consistent, with the checks that keep it so."""

    order: Order
    profile: Profile | None
    holder: User | None
    receipt: Receipt | None
    app_client_org: str | None  # the org of the app client it was bought through (a white-label app)
    tally: Tally | None
    checks: list[Check]


@dataclass(frozen=True)
class ClaimFacts:
    claim: Claim
    tally: Tally | None
    checks: list[Check]


def order_subject(order_id: str) -> str:
    return f"order#{order_id}"


def claim_subject(claim_id: str) -> str:
    return f"claim#{claim_id}"


# --- the claim link -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ClaimLinks:
    """Where a claim link points and the server key its token is made with (read only when a link is built:
    a secret the edge fetches)."""

    url_base: str
    token_key: Callable[[], bytes]


# --- the store, as the effects family uses it ---------------------------------------------------------------
class PendingEffects(Protocol):
    def put_pending(self, effect: PendingEffect) -> bool: ...

    def get_pending(self, effect: PendingEffect) -> PendingEffect | None: ...

    def all_pending(self) -> list[PendingEffect]: ...

    def complete_pending(self, effect: PendingEffect) -> None: ...


class ProfileChildren(Protocol):  # the effects on a profile's orders, entitlements and traces
    def get_profile(self, org_id: str, profile_id: str) -> Profile | None: ...

    def rekey_children(self, org_id: str, profile_id: str, user_id: str | None) -> int: ...

    def pseudonymise_children(self, org_id: str, profile_id: str) -> int: ...

    def forget_open_claims_of(self, org_id: str, profile_id: str) -> int: ...

    def forget_consents(self, org_id: str, profile_id: str) -> int: ...

    def forget_answers_about(self, org_id: str, profile_id: str) -> int: ...

    def move_entitlements(self, org_id: str, from_profile_id: str, to_profile_id: str, ids: Sequence[str]) -> int: ...


class ActivityWrites(Protocol):  # writing a stream record's activity entries (or leaving them pending)
    def put_pending(self, effect: PendingEffect) -> bool: ...

    def all_profiles_of_user(self, user_id: str) -> list[Profile]: ...

    def add_activity(self, record_id: str, entries: Sequence[tuple[str, str, ActivityEntry]]) -> int: ...

    def add_org_activity(self, record_id: str, entries: Sequence[tuple[str, ActivityEntry]]) -> int: ...


class ActivityReads(Protocol):  # the staff's view of the trails
    def get_profile(self, org_id: str, profile_id: str) -> Profile | None: ...

    def activity_page(
        self, org_id: str, profile_id: str, *, limit: int, cursor: str | None
    ) -> tuple[list[ActivityEntry], str | None]: ...

    def org_activity_page(
        self, org_id: str, *, limit: int, cursor: str | None
    ) -> tuple[list[ActivityEntry], str | None]: ...


class TallyWrites(Protocol):  # re-deriving the report's tallies from the items as they are (or a recount pending)
    def put_pending(self, effect: PendingEffect) -> bool: ...

    def order_facts(self, pk: str, sk: str) -> OrderFacts | None: ...

    def claim_facts(self, pk: str) -> ClaimFacts | None: ...

    def order_keys_of_profile(self, pk: str) -> list[tuple[str, str]]: ...

    def order_keys_of_user(self, pk: str) -> list[tuple[str, str]]: ...

    def write_tally(self, before: Tally | None, after: Tally, checks: list[Check]) -> bool: ...


class ReportReads(Protocol):
    def report_rows(self, org_id: str, first_day: str, last_day: str, *, staff: bool) -> Iterator[dict[str, Any]]: ...


class StreamStore(PendingEffects, ProfileChildren, ActivityWrites, TallyWrites, Protocol):
    """Everything a stream record and a pending effect of this family touch directly."""
