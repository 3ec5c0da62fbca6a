"""A test identity provider: an RSA key, its JWKS file, and tokens signed with it (or deliberately not)."""

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

ISSUER = "https://idp.test.example"
AUDIENCES = ["consumer-app", "whitelabel-app", "staff-console"]


@dataclass
class FakeIdp:
    private_key: Any
    jwks_url: str
    kid: str = "test-key-1"

    @classmethod
    def create(cls, directory: Path) -> "FakeIdp":
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        idp = cls(private_key=key, jwks_url=(directory / "jwks.json").as_uri())
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
        (directory / "jwks.json").write_text(
            json.dumps({"keys": [{**jwk, "kid": idp.kid, "use": "sig", "alg": "RS256"}]})
        )
        return idp

    def token(
        self,
        sub: str = "user-1",
        *,
        key: Any = None,
        headers: dict[str, Any] | None = None,
        algorithm: str = "RS256",
        **claims: Any,
    ) -> str:
        now = int(time.time())
        payload = {"iss": ISSUER, "sub": sub, "aud": AUDIENCES[0], "iat": now, "exp": now + 600, **claims}
        return jwt.encode(
            payload, key or self.private_key, algorithm=algorithm, headers={"kid": self.kid, **(headers or {})}
        )
