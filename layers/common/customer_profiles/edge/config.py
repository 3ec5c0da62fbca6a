"""Configuration: the only module that reads the environment, once, into typed settings.

Each function states at import which variables it cannot run without (`require`), so a deployment that
misses one fails its cold start with a message naming it, never a request later.
"""

from __future__ import annotations

import os
from functools import lru_cache

from pydantic import BaseModel, Field

# Every variable some function requires: tools that import the functions without running them (the OpenAPI
# document, the benchmark, tests) give each a placeholder.
REQUIRED_SOMEWHERE = (
    "TABLE_NAME",
    "IDEMPOTENCY_TABLE_NAME",
    "LOCAL_EVENT_SINK",
    "LOCAL_PARTNER_SECRETS_FILE",
    "LOCAL_CLAIM_TOKEN_KEY_FILE",
    "IDP_ISSUER",
    "IDP_AUDIENCES",
    "IDP_JWKS_URL",
)


def placeholders(value: str) -> dict[str, str]:
    return dict.fromkeys(REQUIRED_SOMEWHERE, value)


class MissingSettings(RuntimeError):
    """A function started without a variable it needs."""


class Settings(BaseModel):
    table_name: str = ""
    idempotency_table_name: str = ""
    event_bus_name: str = ""
    local_event_sink: str = ""
    claim_expiry_days: int = Field(default=30, ge=1, le=365)
    claim_url_base: str = "https://example.invalid/claim/"
    partner_secrets_prefix: str = ""
    claim_token_key_secret: str = ""
    local_partner_secrets_file: str = ""
    local_claim_token_key_file: str = ""
    idp_issuer: str = ""
    idp_audiences: str = ""
    idp_jwks_url: str = ""
    staff_client_ids: str = ""


@lru_cache(maxsize=1)
def settings() -> Settings:
    return Settings.model_validate(
        {name: os.environ[name.upper()] for name in Settings.model_fields if name.upper() in os.environ}
    )


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
