"""Who is calling: the principal the authorizer hands to every handler, through API Gateway's context.

Handlers trust the principal that API Gateway passes in `requestContext.authorizer`, whose values are
strings (API Gateway's context only carries scalars).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

STAFF_ROLES = frozenset({"pos", "admin", "viewer"})
PROFILE_CLAIMS = ("given_name", "family_name", "name", "picture", "locale", "birthdate")


class InvalidToken(Exception):
    """The token is missing, malformed, forged, expired or not meant for this API."""


@dataclass(frozen=True)
class Principal:
    kind: Literal["user", "staff"]
    subject: str
    client_id: str
    email: str | None = None
    email_verified: bool = False
    phone_number: str | None = None
    phone_number_verified: bool = False
    org_id: str | None = None
    roles: frozenset[str] = field(default_factory=frozenset)
    # Standard OIDC profile claims: they seed a white-label profile, nothing else.
    profile_claims: tuple[tuple[str, str], ...] = ()

    @property
    def verified_email(self) -> str | None:
        return self.email if self.email_verified else None

    @property
    def verified_phone(self) -> str | None:
        return self.phone_number if self.phone_number_verified else None

    def to_context(self) -> dict[str, str]:
        return {
            "kind": self.kind,
            "subject": self.subject,
            "client_id": self.client_id,
            "email": self.email or "",
            "email_verified": str(self.email_verified).lower(),
            "phone_number": self.phone_number or "",
            "phone_number_verified": str(self.phone_number_verified).lower(),
            "org_id": self.org_id or "",
            "roles": ",".join(sorted(self.roles)),
            **{f"claim_{name}": value for name, value in self.profile_claims},
        }

    @classmethod
    def from_context(cls, context: dict[str, Any]) -> Principal:
        def flag(name: str) -> bool:
            return str(context.get(name, "")).lower() == "true"

        kind = context.get("kind")
        if kind not in ("user", "staff") or not context.get("subject"):
            raise InvalidToken("no principal in the request context")
        return cls(
            kind=kind,
            subject=str(context["subject"]),
            client_id=str(context.get("client_id") or ""),
            email=context.get("email") or None,
            email_verified=flag("email_verified"),
            phone_number=context.get("phone_number") or None,
            phone_number_verified=flag("phone_number_verified"),
            org_id=context.get("org_id") or None,
            roles=frozenset(r for r in str(context.get("roles") or "").split(",") if r),
            profile_claims=tuple(
                (name, str(context[f"claim_{name}"])) for name in PROFILE_CLAIMS if context.get(f"claim_{name}")
            ),
        )
