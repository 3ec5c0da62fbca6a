"""Consent statements: what a customer said about one purpose, when, and who captured it (docs/decisions.md,
"Consent and its provenance").

A purpose never stated has no statement: consent is never inferred, and answers say `unknown`.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Annotated, Literal, get_args

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

# A closed list: a new purpose is one more literal (and a line in the README).
ConsentPurpose = Literal["marketing_email", "marketing_sms"]
PURPOSES: tuple[str, ...] = get_args(ConsentPurpose)
ConsentStatus = Literal["granted", "withdrawn"]
ConsentSource = Literal["app", "white_label", "pos", "partner"]
StaffActorRole = Literal["admin", "pos"]

# Ties at the same instant: the person's own word beats what staff or a partner relayed for them, and a
# withdrawal beats a grant (the cautious reading); then the statement id, so every store agrees.
SOURCE_RANK: dict[str, int] = {"partner": 0, "pos": 1, "white_label": 2, "app": 2}
PERSON_SOURCES = frozenset({"app", "white_label"})
STATUS_RANK: dict[str, int] = {"granted": 0, "withdrawn": 1}


def instant(value: datetime) -> str:
    """An aware datetime as the service writes instants: UTC, milliseconds, `Z` (fixed width, so the text
    sorts as the time does)."""
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class ConsentStatementRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    purpose: ConsentPurpose
    status: ConsentStatus
    stated_at: AwareDatetime | None = Field(
        default=None,
        description="When the customer said it (an ISO 8601 instant with its offset); omitted: now. At most 5 "
        "minutes ahead of the service's clock.",
        examples=["2027-03-01T18:30:00Z"],
    )

    @field_validator("stated_at")
    @classmethod
    def _plausible(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.year < 2000:
            raise ValueError("stated_at is before 2000")
        return value


def _one_per_purpose(statements: list[ConsentStatementRequest]) -> list[ConsentStatementRequest]:
    purposes = [s.purpose for s in statements]
    if len(set(purposes)) != len(purposes):
        raise ValueError("at most one statement per purpose")
    return statements


class ConsentsRequest(BaseModel):
    """What the customer said, one statement per purpose."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "consents": [
                        {"purpose": "marketing_email", "status": "granted", "stated_at": "2027-03-01T18:30:00Z"},
                        {"purpose": "marketing_sms", "status": "withdrawn"},
                    ]
                }
            ]
        },
    )

    consents: list[ConsentStatementRequest] = Field(min_length=1, max_length=len(PURPOSES))

    @model_validator(mode="after")
    def _unique(self) -> ConsentsRequest:
        _one_per_purpose(self.consents)
        return self


class ConsentStatement(BaseModel):
    """A statement as stored: the purpose's current one is a single item per profile."""

    purpose: ConsentPurpose
    status: ConsentStatus
    stated_at: str
    source: ConsentSource
    actor_subject: str | None = None  # staff who captured it
    actor_role: StaffActorRole | None = None
    actor_partner_id: str | None = None  # the partner who relayed it
    recorded_at: str

    @property
    def statement_id(self) -> str:
        """The same statement (what, when, by whom) has the same id: sending it again changes nothing."""
        said = "\n".join(
            (
                self.purpose,
                self.status,
                self.stated_at,
                self.source,
                self.actor_subject or "",
                self.actor_role or "",
                self.actor_partner_id or "",
            )
        )
        return hashlib.sha256(said.encode()).hexdigest()[:16]

    @property
    def rank(self) -> str:
        """The order statements of a purpose win in: by time, then source, status and id (fixed width)."""
        return f"{self.stated_at}#{SOURCE_RANK[self.source]}#{STATUS_RANK[self.status]}#{self.statement_id}"

    @property
    def by_the_person(self) -> bool:
        """Said by the person themselves (in an app), not relayed for them by staff or a reseller."""
        return self.source in PERSON_SOURCES

    def beats(self, current: ConsentStatement | None) -> bool:
        """Later wins, except that a relayed statement never overrides one the person made."""
        if current is None:
            return True
        if current.by_the_person and not self.by_the_person:
            return False
        return self.rank > current.rank


class ConsentActor(BaseModel):
    kind: Literal["staff", "partner"]
    subject: str | None = Field(default=None, description="The staff member's subject")
    role: StaffActorRole | None = None
    partner_id: str | None = None


class ConsentResponse(BaseModel):
    purpose: ConsentPurpose
    status: Literal["granted", "withdrawn", "unknown"] = Field(
        description="`unknown`: never stated (consent is never inferred)"
    )
    stated_at: str | None = None
    source: ConsentSource | None = None
    captured_by: ConsentActor | None = Field(
        default=None, description="Staff views only: the staff member or partner who captured the statement"
    )

    @classmethod
    def of(cls, purpose: str, statement: ConsentStatement | None, *, with_actor: bool) -> ConsentResponse:
        if statement is None:
            return cls.model_validate({"purpose": purpose, "status": "unknown"})
        actor = None
        if with_actor and statement.actor_subject:
            actor = ConsentActor(kind="staff", subject=statement.actor_subject, role=statement.actor_role)
        elif with_actor and statement.actor_partner_id:
            actor = ConsentActor(kind="partner", partner_id=statement.actor_partner_id)
        return cls(
            purpose=statement.purpose,
            status=statement.status,
            stated_at=statement.stated_at,
            source=statement.source,
            captured_by=actor,
        )


def consent_views(current: dict[str, ConsentStatement], *, with_actor: bool) -> list[ConsentResponse]:
    """Every purpose, in a fixed order: its current statement, or `unknown`."""
    return [ConsentResponse.of(p, current.get(p), with_actor=with_actor) for p in PURPOSES]


class ConsentsResponse(BaseModel):
    org_id: str
    profile_id: str
    consents: list[ConsentResponse]


def _unique_or_none(value: list[ConsentStatementRequest] | None) -> list[ConsentStatementRequest] | None:
    return _one_per_purpose(value) if value else value


# The optional `consents` of a sale or a partner's order: recorded with it, in its transaction.
SaleConsents = Annotated[
    list[ConsentStatementRequest] | None,
    Field(
        max_length=len(PURPOSES),
        description="What the customer said about marketing, one statement per purpose (recorded with the sale)",
    ),
    AfterValidator(_unique_or_none),
]
