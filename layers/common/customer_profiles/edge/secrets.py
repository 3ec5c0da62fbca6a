"""Secrets the functions read: partners' webhook signing secrets and the claim-token key.

In AWS they live in Secrets Manager, read through Powertools parameters (cached); in the local runtime,
in files under its state folder (named by the LOCAL_* settings), so nothing secret sits in the table.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from customer_profiles.edge.config import settings

CACHE_SECONDS = 60


def partner_secrets(partner_id: str) -> list[str]:
    """The partner's active signing secrets (`whsec_...`), newest first; several during a rotation."""
    local = settings().local_partner_secrets_file
    if local:
        path = Path(local)
        secrets = json.loads(path.read_text()) if path.exists() else {}
        return list(secrets.get(partner_id, []))
    prefix = settings().partner_secrets_prefix
    from aws_lambda_powertools.utilities import parameters  # with boto3: only where a secret is read

    try:
        value = parameters.get_secret(f"{prefix}{partner_id}", transform="json", max_age=CACHE_SECONDS)
    except parameters.exceptions.GetParameterError:
        return []
    return list(value.get("secrets", [])) if isinstance(value, dict) else []


@lru_cache(maxsize=1)
def claim_token_key() -> bytes:
    local = settings().local_claim_token_key_file
    if local:
        return Path(local).read_bytes().strip()
    from aws_lambda_powertools.utilities import parameters

    return str(parameters.get_secret(settings().claim_token_key_secret, max_age=3600)).encode()
