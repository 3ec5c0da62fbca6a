"""A local identity provider: an RSA key in the state directory, its JWKS, and RS256 id tokens signed with it."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

ISSUER = "https://local-idp.customer-profiles.test"
AUDIENCES = ("local-consumer-app", "local-whitelabel-app", "local-staff-console")
DEFAULT_STATE_DIR = Path(__file__).resolve().parent.parent / ".local"


def idp_dir(state_dir: str | os.PathLike[str] | None = None) -> Path:
    return Path(state_dir or DEFAULT_STATE_DIR).resolve() / "idp"


def jwks_path(state_dir: str | os.PathLike[str] | None = None) -> Path:
    return idp_dir(state_dir) / "jwks.json"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638 JWK thumbprint (SHA-256) of an RSA key."""
    canonical = json.dumps({"e": jwk["e"], "kty": "RSA", "n": jwk["n"]}, separators=(",", ":"), sort_keys=True)
    return _b64(hashlib.sha256(canonical.encode()).digest())


def _load_or_create_key(directory: Path) -> rsa.RSAPrivateKey:
    pem = directory / "private.pem"
    if pem.exists():
        key = serialization.load_pem_private_key(pem.read_bytes(), password=None)
        assert isinstance(key, rsa.RSAPrivateKey)
        return key
    directory.mkdir(parents=True, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    data = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    tmp = pem.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(tmp, pem)
    return key


def init_idp(state_dir: str | os.PathLike[str] | None = None) -> tuple[rsa.RSAPrivateKey, str]:
    """Create (or reuse) the signing key and (re)write the JWKS; returns the key and its kid."""
    directory = idp_dir(state_dir)
    key = _load_or_create_key(directory)
    jwk: dict[str, Any] = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    kid = thumbprint(jwk)
    jwk.update({"kid": kid, "alg": "RS256", "use": "sig"})
    body = json.dumps({"keys": [jwk]}, indent=2)
    path = directory / "jwks.json"
    if not path.exists() or path.read_text() != body:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(body)
        os.replace(tmp, path)
    return key, kid


def mint_token(
    sub: str,
    *,
    email: str | None = None,
    email_verified: bool = False,
    phone_number: str | None = None,
    phone_number_verified: bool = False,
    client_id: str | None = None,
    access_token: bool = False,
    ttl_seconds: int = 3600,
    state_dir: str | os.PathLike[str] | None = None,
    extra_claims: dict[str, Any] | None = None,
) -> str:
    """An RS256 token for sub (an ID token, or a Cognito-shaped access token), signed by the local key and
    accepted by the local authorizer. It grants no staff role: memberships do (local_runtime.staff)."""
    key, kid = init_idp(state_dir)
    now = int(time.time())
    client_id = client_id or "local-consumer-app"
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "sub": sub,
        "client_id": client_id,
        "iat": now,
        "exp": now + ttl_seconds,
        "token_use": "access" if access_token else "id",
    }
    if access_token:  # like Cognito's: the subject and its client, no identifiers
        return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})
    claims["aud"] = client_id
    if email is not None:
        claims["email"] = email
    if email is not None or email_verified:
        claims["email_verified"] = email_verified
    if phone_number is not None:
        claims["phone_number"] = phone_number
    if phone_number is not None or phone_number_verified:
        claims["phone_number_verified"] = phone_number_verified
    claims.update(extra_claims or {})  # e.g. the OIDC profile claims given_name, family_name, picture
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})
