"""Users, the identifiers they hold (and how each is known), and the profiles orgs keep of them."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    HttpUrl,
    StrictBool,
    StringConstraints,
    UrlConstraints,
)

UserStatus = Literal["active", "dormant", "merged", "erasing"]
IdentifierKind = Literal["email", "phone", "card"]
Identifier = tuple[IdentifierKind, str]
# How an identifier is known: only `verified` (the identity provider proved it to this user) binds an active
# user; `staff_captured` (typed at a window) and `partner_asserted` (sent by a reseller) are hints.
Provenance = Literal["verified", "staff_captured", "partner_asserted"]


class Proof(BaseModel):
    """Where a held identifier came from, and when."""

    model_config = ConfigDict(frozen=True)

    provenance: Provenance
    at: str
    org_id: str | None = None  # the org whose staff captured it
    partner_id: str | None = None  # the reseller that asserted it


class Holding(BaseModel):
    """Who holds an identifier, and how it is known."""

    model_config = ConfigDict(frozen=True)

    user_id: str
    provenance: Provenance


class User(BaseModel):
    """A person's platform account (`active`), or a dormant holder of one identifier typed at a window or by a
    reseller, waiting for whoever proves it (`dormant`), or a dormant holder folded into a person (`merged`)."""

    model_config = ConfigDict(frozen=True)

    user_id: str
    status: UserStatus
    subject: str | None = None
    email: str | None = None
    phone: str | None = None
    merged_into: str | None = None
    created_at: str
    updated_at: str
    version: int = 1
    activated_at: str | None = None  # a dormant holder became a person's: what it held reached them then
    merged_at: str | None = None  # a dormant holder was folded into a person: what it held reached them then

    def reached_person_at(self) -> str | None:
        """When what this user holds reached a person: never while it is dormant."""
        if self.status == "dormant":
            return None
        if self.status == "merged":
            return self.merged_at or self.updated_at
        return self.activated_at or self.created_at


ProfileOrigin = Literal["white_label", "consumer", "pos", "partner"]
NAME = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
LOCALE = Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$", max_length=35)]


def _not_a_number(value: Any) -> Any:
    """A date is "YYYY-MM-DD": pydantic's lax mode would read the number 0 as 1970-01-01."""
    if isinstance(value, int | float):
        raise ValueError("a date as YYYY-MM-DD")  # noqa: TRY004 - pydantic turns ValueError into a 422 detail
    return value


class ProfileAttributes(BaseModel):
    """Org-specific standard attributes: seeded from the user's claims, then owned by the org."""

    model_config = ConfigDict(extra="forbid")

    given_name: NAME | None = None
    family_name: NAME | None = None
    display_name: NAME | None = None
    picture_url: Annotated[HttpUrl, UrlConstraints(max_length=2048, allowed_schemes=["https"])] | None = None
    birth_date: Annotated[date, BeforeValidator(_not_a_number)] | None = None
    locale: LOCALE | None = None
    marketing_consent: StrictBool | None = None


class IdDocument(BaseModel):
    """The ID the staff checked: its type and last characters only, never the full number."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["passport", "driving_licence", "national_id", "other"]
    last_digits: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9]{2,4}$")]


class CapturedDetails(BaseModel):
    """What the org's staff or a reseller captured: hints, never proof of identity."""

    email: str | None = None
    phone: str | None = None
    id_document: IdDocument | None = None
    # Captured on profiles merged into this one: still found by the org's search.
    other_emails: list[str] = Field(default_factory=list)
    other_phones: list[str] = Field(default_factory=list)

    def identifiers(self) -> list[Identifier]:
        """Every email and phone captured (here or on profiles merged into it), emails first, each once."""
        emails: list[Identifier] = [("email", v) for v in (self.email, *self.other_emails) if v]
        phones: list[Identifier] = [("phone", v) for v in (self.phone, *self.other_phones) if v]
        return list(dict.fromkeys([*emails, *phones]))


class Profile(BaseModel):
    model_config = ConfigDict(frozen=True)

    org_id: str
    profile_id: str
    user_id: str | None = None
    origin: ProfileOrigin
    attributes: ProfileAttributes = ProfileAttributes()
    captured: CapturedDetails | None = None
    created_at: str
    updated_at: str
    version: int = 1
    merged_into: str | None = None
    merging_into: str | None = None  # a merge in progress: the profile takes no new children
    unmerging_at: str | None = None  # an admin asked to undo its merge (still `merged_into` until it is done)
    # Card fingerprints that point at this profile (never at a user): each has a pointer item of its own.
    cards: list[str] = Field(default_factory=list)
    erased_at: str | None = None  # its person's data removed (the person or the org asked): it only parents
    # When the profile reached its current person, when it came to them whole (a link, an attach); None while
    # its holder is dormant, or when the holder itself became the person (the user's `activated_at` says when).
    reached_at: str | None = None
    # A sale disowned into it, or the profile unlinked from its person: the org should look at it.
    needs_review: bool | None = None
