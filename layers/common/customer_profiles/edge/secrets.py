"""Secrets the functions read: partners' webhook signing secrets, the claim-token key and the receipt-code keys.

In AWS they live in Secrets Manager (named by `SecretNames`), read through Powertools parameters (cached); in
the local runtime, in files under its state folder (`LocalAdapters`), so nothing secret sits in the table.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from customer_profiles.edge.config import LocalAdapters, SecretNames, settings

CACHE_SECONDS = 60


def partner_secrets(partner_id: str) -> list[str]:
    """The partner's active signing secrets (`whsec_...`), newest first; several during a rotation."""
    local = settings(LocalAdapters).local_partner_secrets_file
    if local:
        path = Path(local)
        secrets = json.loads(path.read_text()) if path.exists() else {}
        return list(secrets.get(partner_id, []))
    prefix = settings(SecretNames).partner_secrets_prefix
    from aws_lambda_powertools.utilities import parameters  # with boto3: only where a secret is read

    try:
        value = parameters.get_secret(f"{prefix}{partner_id}", transform="json", max_age=CACHE_SECONDS)
    except parameters.exceptions.GetParameterError:
        return []
    return list(value.get("secrets", [])) if isinstance(value, dict) else []


@lru_cache(maxsize=1)
def claim_token_key() -> bytes:
    local = settings(LocalAdapters).local_claim_token_key_file
    if local:
        return Path(local).read_bytes().strip()
    from aws_lambda_powertools.utilities import parameters

    return str(parameters.get_secret(settings(SecretNames).claim_token_key_secret, max_age=3600)).encode()


def receipt_code_keys() -> list[bytes]:
    """The keys receipt codes are hashed with, current first: a sale hashes its code with the first, a
    redemption tries each (more than one during a rotation). The secret holds them separated by white space.
    Not cached past CACHE_SECONDS: a rotation reaches every function within that time."""
    local = settings(LocalAdapters).local_receipt_code_keys_file
    if local:
        text = Path(local).read_text()
    else:
        from aws_lambda_powertools.utilities import parameters

        text = str(parameters.get_secret(settings(SecretNames).receipt_code_keys_secret, max_age=CACHE_SECONDS))
    keys = [key.encode() for key in text.split()]
    if not keys:
        raise RuntimeError("the receipt-code keys secret holds no key")
    return keys
