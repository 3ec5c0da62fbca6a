"""A claim's link token: derived from the claim id with a server key, so the table keeps only its hash, the
notifier rebuilds it from the claim's id, and the app finds a listed claim by its id."""

from __future__ import annotations

import base64
import hashlib
import hmac


def claim_token(claim_id: str, key: bytes) -> str:
    """The claim link's token: derived from the claim id with a server key, so the table keeps only its
    hash, and the notifier can rebuild it from the claim's stream record."""
    return (
        base64.urlsafe_b64encode(hmac.new(key, f"claim:{claim_id}".encode(), hashlib.sha256).digest())
        .decode()
        .rstrip("=")
    )


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
