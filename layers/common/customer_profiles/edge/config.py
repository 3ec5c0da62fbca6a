"""Configuration: the only module that reads the environment, once, into typed settings.

Each function states at import which variables it cannot run without (`require`), so a deployment that
misses one fails its cold start with a message naming it, never a request later.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from functools import lru_cache

# Every variable some function requires: tools that import the functions without running them (the OpenAPI
# document, the benchmark, tests) give each a placeholder.
REQUIRED_SOMEWHERE = (
    "TABLE_NAME",
    "IDEMPOTENCY_TABLE_NAME",
    "LOCAL_EVENT_SINK",
    "LOCAL_PARTNER_SECRETS_FILE",
    "LOCAL_CLAIM_TOKEN_KEY_FILE",
    "LOCAL_RECEIPT_CODE_KEYS_FILE",
    "IDP_ISSUER",
    "IDP_AUDIENCES",
    "IDP_JWKS_URL",
)


def placeholders(value: str) -> dict[str, str]:
    return dict.fromkeys(REQUIRED_SOMEWHERE, value)


class MissingSettings(RuntimeError):
    """A function started without a variable it needs."""


@dataclass(frozen=True)
class Settings:
    """Strings from the environment; a plain dataclass, so the authorizer's import needs no pydantic."""

    table_name: str = ""
    idempotency_table_name: str = ""
    event_bus_name: str = ""
    local_event_sink: str = ""
    claim_expiry_days: int = 30
    receipt_code_expiry_days: int = 30
    claim_url_base: str = "https://example.invalid/claim/"
    partner_secrets_prefix: str = ""
    claim_token_key_secret: str = ""
    receipt_code_keys_secret: str = ""
    local_partner_secrets_file: str = ""
    local_claim_token_key_file: str = ""
    local_receipt_code_keys_file: str = ""
    idp_issuer: str = ""
    idp_audiences: str = ""
    idp_jwks_url: str = ""
    staff_client_ids: str = ""

    def __post_init__(self) -> None:
        days = int(self.claim_expiry_days)  # from the environment: a string
        if not 1 <= days <= 365:
            raise MissingSettings(f"CLAIM_EXPIRY_DAYS must be 1 to 365 days, not {days}")
        object.__setattr__(self, "claim_expiry_days", days)
        receipt_days = int(self.receipt_code_expiry_days)
        if not 1 <= receipt_days <= 365:
            raise MissingSettings(f"RECEIPT_CODE_EXPIRY_DAYS must be 1 to 365 days, not {receipt_days}")
        object.__setattr__(self, "receipt_code_expiry_days", receipt_days)


@lru_cache(maxsize=1)
def settings() -> Settings:
    present = {f.name: os.environ[f.name.upper()] for f in fields(Settings) if f.name.upper() in os.environ}
    return Settings(**present)  # type: ignore[arg-type]


def require(*variables: str | tuple[str, ...]) -> Settings:
    """The settings, if each variable (or one of each tuple of alternatives) is set and not empty."""
    config = settings()
    missing = [
        " or ".join(group)
        for group in ((v,) if isinstance(v, str) else v for v in variables)
        if not any(getattr(config, name.lower(), "") for name in group)
    ]
    if missing:
        raise MissingSettings(f"missing required environment variable(s): {'; '.join(missing)}")
    return config
