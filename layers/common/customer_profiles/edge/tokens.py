"""Verifying platform JWTs (the authorizer only: jwt and cryptography are imported nowhere else).

The authorizer verifies once per token and hands a `Principal` to the handlers.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import jwt

from customer_profiles.models.principal import PROFILE_CLAIMS, STAFF_ROLES, InvalidToken, Principal

PINNED_ALGORITHMS = ["RS256"]
MAX_CLAIM_LENGTH = 2048
MAX_SUBJECT_LENGTH = 255  # OpenID Connect: a sub is at most 255 ASCII characters
MAX_EMAIL_LENGTH = 254
MAX_PHONE_LENGTH = 32
ORG_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


class ForbiddenToken(InvalidToken):
    """A genuine token that asks for what its app client may not have (staff claims from a non-staff app):
    the authorizer denies it (403), where a malformed or forged token is refused (401)."""


class TokenVerifier:
    """Verifies RS256 JWTs against the identity provider's JWKS (keys cached by PyJWKClient)."""

    def __init__(self, *, issuer: str, audiences: list[str], jwks_url: str, staff_clients: Sequence[str] = ()) -> None:
        self.issuer = issuer
        self.audiences = frozenset(a for a in audiences if a)
        self.staff_clients = frozenset(c for c in staff_clients if c)
        self._jwks_url = jwks_url
        self._jwks = None if jwks_url.startswith("file://") else jwt.PyJWKClient(jwks_url, lifespan=300)

    def _signing_key(self, token: str) -> jwt.PyJWK:
        header = jwt.get_unverified_header(token)
        # Pinned before any key lookup: `none` and HS256 (a public key used as an HMAC secret) never get further.
        if header.get("alg") not in PINNED_ALGORITHMS:
            raise InvalidToken(f"algorithm {header.get('alg')!r} is not accepted")
        if self._jwks is not None:
            return self._jwks.get_signing_key_from_jwt(token)
        # The local runtime's identity provider writes its JWKS to a file, which PyJWKClient refuses
        # to fetch; the URL is configuration, never taken from a token, so reading it here is safe.
        keys = jwt.PyJWKSet.from_json(Path(unquote(urlparse(self._jwks_url).path)).read_text())
        for key in keys.keys:
            if key.key_id == header.get("kid"):
                return key
        raise InvalidToken("unknown signing key")

    def verify(self, token: str) -> Principal:
        try:
            claims = jwt.decode(
                token,
                self._signing_key(token).key,
                algorithms=PINNED_ALGORITHMS,
                issuer=self.issuer,
                options={"require": ["exp", "iat", "iss", "sub"], "verify_aud": False},
                leeway=30,
            )
        except InvalidToken:
            raise
        except (jwt.PyJWTError, jwt.PyJWKClientError, ValueError) as error:
            raise InvalidToken(str(error)) from error
        return self._principal(claims)

    def _principal(self, claims: dict[str, Any]) -> Principal:
        # Cognito puts the app client in `aud` (ID tokens) or `client_id` (access tokens).
        audience = claims.get("aud")
        audiences = {audience} if isinstance(audience, str) else set(audience or [])
        client_ids = {str(c) for c in (audiences | {claims.get("client_id")}) if c} & self.audiences
        if not client_ids:
            raise InvalidToken("token was not issued for an accepted app client")
        client_id = claims.get("client_id") if claims.get("client_id") in client_ids else sorted(client_ids)[0]

        # Every claim we use is typed and bounded here: a signed token is still input.
        subject = _text(claims, "sub", MAX_SUBJECT_LENGTH, required=True)
        email = _text(claims, "email", MAX_EMAIL_LENGTH)
        phone_number = _text(claims, "phone_number", MAX_PHONE_LENGTH)
        org_id, roles = _staff_claims(claims)
        if (org_id or roles) and client_id not in self.staff_clients:
            raise ForbiddenToken(f"app client {client_id} is not a staff client: staff claims refused")
        return Principal(
            kind="staff" if org_id else "user",
            subject=str(subject),
            client_id=str(client_id),
            email=email,
            # OpenID Connect: only the JSON boolean true verifies (a string "true", as some emulators write, does not)
            email_verified=claims.get("email_verified") is True,
            phone_number=phone_number,
            phone_number_verified=claims.get("phone_number_verified") is True,
            org_id=org_id,
            roles=roles if org_id else frozenset(),
            profile_claims=tuple(
                (name, claims[name][:MAX_CLAIM_LENGTH]) for name in PROFILE_CLAIMS if isinstance(claims.get(name), str)
            ),
        )


def _text(claims: dict[str, Any], name: str, max_length: int, *, required: bool = False) -> str | None:
    value = claims.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value or len(value) > max_length:
        raise InvalidToken(f"claim {name} must be a string of 1 to {max_length} characters")
    return value


def _staff_claims(claims: dict[str, Any]) -> tuple[str | None, frozenset[str]]:
    org_id = claims.get("org_id")
    if org_id is not None and (not isinstance(org_id, str) or not ORG_ID.match(org_id)):
        raise InvalidToken("claim org_id must be an org id")
    roles = claims.get("roles")
    if roles is None:
        return org_id, frozenset()
    if isinstance(roles, str):
        roles = [roles]
    if not isinstance(roles, list) or not all(isinstance(r, str) and r in STAFF_ROLES for r in roles):
        raise InvalidToken(f"claim roles must be a list of {', '.join(sorted(STAFF_ROLES))}")
    return org_id, frozenset(roles)
