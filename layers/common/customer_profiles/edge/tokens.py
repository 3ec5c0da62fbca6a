"""Verifying platform JWTs (the authorizer only: jwt and cryptography are imported nowhere else).

The authorizer verifies once per token and hands a `Principal` to the handlers.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote, urlparse

import jwt

from customer_profiles.models.principal import PROFILE_CLAIMS, InvalidToken, Principal

PINNED_ALGORITHMS = ["RS256"]
MAX_CLAIM_LENGTH = 2048
MAX_SUBJECT_LENGTH = 255  # OpenID Connect: a sub is at most 255 ASCII characters
MAX_EMAIL_LENGTH = 254
MAX_PHONE_LENGTH = 32
ACCESS_TOKEN_TYPES = frozenset({"at+jwt", "application/at+jwt"})  # RFC 9068
TokenUse = Literal["id", "access"]


class TokenVerifier:
    """Verifies RS256 JWTs against the identity provider's JWKS (keys cached by PyJWKClient).

    The identity provider only authenticates: a token says who the subject is (and, in an ID token, which
    email and phone it verified). Staff rights come from the service's memberships, never from a claim.
    """

    def __init__(self, *, issuer: str, audiences: list[str], jwks_url: str, staff_clients: Sequence[str] = ()) -> None:
        self.issuer = issuer
        self.audiences = frozenset(a for a in audiences if a)
        self.staff_clients = frozenset(c for c in staff_clients if c)
        self._jwks_url = jwks_url
        self._jwks = None if jwks_url.startswith("file://") else jwt.PyJWKClient(jwks_url, lifespan=300)

    def _signing_key(self, token: str, header: dict[str, Any]) -> jwt.PyJWK:
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
            header = jwt.get_unverified_header(token)
            claims = jwt.decode(
                token,
                self._signing_key(token, header).key,
                algorithms=PINNED_ALGORITHMS,
                issuer=self.issuer,
                options={"require": ["exp", "iat", "iss", "sub"], "verify_aud": False},
                leeway=30,
            )
        except InvalidToken:
            raise
        except (jwt.PyJWTError, jwt.PyJWKClientError, ValueError) as error:
            raise InvalidToken(str(error)) from error
        return self._principal(claims, header)

    def _principal(self, claims: dict[str, Any], header: dict[str, Any]) -> Principal:
        # Cognito puts the app client in `aud` (ID tokens) or `client_id` (access tokens).
        audience = claims.get("aud")
        audiences = {audience} if isinstance(audience, str) else set(audience or [])
        client_ids = {str(c) for c in (audiences | {claims.get("client_id")}) if c} & self.audiences
        if not client_ids:
            raise InvalidToken("token was not issued for an accepted app client")
        client_id = claims.get("client_id") if claims.get("client_id") in client_ids else sorted(client_ids)[0]

        # Every claim we use is typed and bounded here: a signed token is still input.
        subject = str(_text(claims, "sub", MAX_SUBJECT_LENGTH, required=True))
        if subject == claims.get("client_id") or subject in audiences:
            # Client credentials (RFC 9068, Cognito): the subject is an app, not a person.
            raise InvalidToken("the token names no person (client credentials)")
        token_use = _token_use(claims, header)
        kind: Literal["user", "staff"] = "staff" if client_id in self.staff_clients else "user"
        if token_use == "access":  # an access token proves the subject; identifiers come from ID tokens only
            return Principal(kind=kind, subject=subject, client_id=str(client_id), token_use="access")
        return Principal(
            kind=kind,
            subject=subject,
            client_id=str(client_id),
            email=_text(claims, "email", MAX_EMAIL_LENGTH),
            # OpenID Connect: only the JSON boolean true verifies (a string "true", as moto's Cognito
            # emulation writes, does not)
            email_verified=claims.get("email_verified") is True,
            phone_number=_text(claims, "phone_number", MAX_PHONE_LENGTH),
            phone_number_verified=claims.get("phone_number_verified") is True,
            profile_claims=tuple(
                (name, claims[name][:MAX_CLAIM_LENGTH]) for name in PROFILE_CLAIMS if isinstance(claims.get(name), str)
            ),
        )


def _token_use(claims: dict[str, Any], header: dict[str, Any]) -> TokenUse:
    """ID or access token: Cognito says so in `token_use`, RFC 9068 in the `typ` header; an OpenID Connect
    ID token from any other provider has neither."""
    token_use = claims.get("token_use")
    if token_use is None:
        return "access" if str(header.get("typ", "")).lower() in ACCESS_TOKEN_TYPES else "id"
    if token_use == "id" or token_use == "access":  # noqa: PLR1714 - narrows the type for mypy
        return token_use
    raise InvalidToken("claim token_use must be id or access")


def _text(claims: dict[str, Any], name: str, max_length: int, *, required: bool = False) -> str | None:
    value = claims.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value or len(value) > max_length:
        raise InvalidToken(f"claim {name} must be a string of 1 to {max_length} characters")
    return value
