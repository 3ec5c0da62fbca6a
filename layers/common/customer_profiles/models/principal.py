"""Who is calling: the principal the authorizer hands to every handler, through API Gateway's context.

Handlers trust the principal that API Gateway passes in `requestContext.authorizer`, whose values are
strings (API Gateway's context only carries scalars).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

STAFF_ROLES = frozenset({"pos", "admin", "viewer"})
PROFILE_CLAIMS = ("given_name", "family_name", "name", "picture", "locale", "birthdate")


class InvalidToken(Exception):
    """The token is missing, malformed, forged, expired or not meant for this API."""


@dataclass(frozen=True)
class Principal:
    kind: Literal["user", "staff"]  # staff: the token came from a staff client (StaffClientIds)
    subject: str
    client_id: str
    # An ID token carries the person's identifiers; an access token only proves the subject.
    token_use: Literal["id", "access"] = "id"
    email: str | None = None
    email_verified: bool = False
    phone_number: str | None = None
    phone_number_verified: bool = False
    # Staff only: each org the subject is staff of and its roles there, from the service's own memberships
    # (read by the authorizer); no token claim grants any.
    memberships: Mapping[str, frozenset[str]] = field(default_factory=dict)
    # Standard OIDC profile claims: they seed a white-label profile, nothing else.
    profile_claims: tuple[tuple[str, str], ...] = ()
    # Users only: the platform user the authorizer found for the subject ("" when it had none yet). The
    # subject's user never changes once written, so API Gateway may cache it with the policy.
    user_id: str = ""

    def roles_in(self, org_id: str) -> frozenset[str]:
        return self.memberships.get(org_id, frozenset()) if self.kind == "staff" else frozenset()

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
            "token_use": self.token_use,
            "memberships": json.dumps({org: sorted(roles) for org, roles in sorted(self.memberships.items())}),
            "user_id": self.user_id,
            **{f"claim_{name}": value for name, value in self.profile_claims},
        }

    @classmethod
    def from_context(cls, context: dict[str, Any]) -> Principal:
        def flag(name: str) -> bool:
            return str(context.get(name, "")).lower() == "true"

        kind = context.get("kind")
        token_use: Literal["id", "access"] = "access" if context.get("token_use") == "access" else "id"
        if kind not in ("user", "staff") or not context.get("subject"):
            raise InvalidToken("no principal in the request context")
        return cls(
            kind=kind,
            subject=str(context["subject"]),
            client_id=str(context.get("client_id") or ""),
            token_use=token_use,
            email=context.get("email") or None,
            email_verified=flag("email_verified"),
            phone_number=context.get("phone_number") or None,
            phone_number_verified=flag("phone_number_verified"),
            memberships=_memberships(context.get("memberships")),
            user_id=str(context.get("user_id") or "") if kind == "user" else "",
            profile_claims=tuple(
                (name, str(context[f"claim_{name}"])) for name in PROFILE_CLAIMS if context.get(f"claim_{name}")
            ),
        )


def _memberships(value: Any) -> dict[str, frozenset[str]]:
    try:
        parsed = json.loads(value) if value else {}
    except (TypeError, ValueError) as error:
        raise InvalidToken("malformed memberships in the request context") from error
    if not isinstance(parsed, dict):
        raise InvalidToken("malformed memberships in the request context")
    return {str(org): frozenset(r for r in roles if r in STAFF_ROLES) for org, roles in parsed.items()}
