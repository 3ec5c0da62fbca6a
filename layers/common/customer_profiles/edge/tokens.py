"""Verifying platform JWTs (the authorizer only: jwt and cryptography are imported nowhere else).

The authorizer verifies once per token and hands a `Principal` to the handlers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import jwt

from customer_profiles.models.principal import PROFILE_CLAIMS, STAFF_ROLES, InvalidToken, Principal

PINNED_ALGORITHMS = ["RS256"]
MAX_CLAIM_LENGTH = 2048


class TokenVerifier:
    """Verifies RS256 JWTs against the identity provider's JWKS (keys cached by PyJWKClient)."""

    def __init__(self, *, issuer: str, audiences: list[str], jwks_url: str) -> None:
        self.issuer = issuer
        self.audiences = frozenset(a for a in audiences if a)
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

        org_id = claims.get("org_id")
        roles = claims.get("roles") or []
        if isinstance(roles, str):
            roles = [roles]
        if org_id and (not isinstance(org_id, str) or not set(roles) <= STAFF_ROLES):
            raise InvalidToken("staff token with an invalid org or role")
        return Principal(
            kind="staff" if org_id else "user",
            subject=str(claims["sub"]),
            client_id=str(client_id),
            email=claims.get("email"),
            email_verified=claims.get("email_verified") is True,
            phone_number=claims.get("phone_number"),
            phone_number_verified=claims.get("phone_number_verified") is True,
            org_id=org_id,
            roles=frozenset(roles) if org_id else frozenset(),
            profile_claims=tuple(
                (name, claims[name][:MAX_CLAIM_LENGTH]) for name in PROFILE_CLAIMS if isinstance(claims.get(name), str)
            ),
        )
