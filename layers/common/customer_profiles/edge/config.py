"""Configuration: the only module that reads the environment, into one typed settings object per function.

Each function reads its settings at import, so a deployment that misses a variable fails its cold start with a
message naming it, never a request later. A field without a default is required; a secret's name is required
unless the local runtime stands in for the secret (`unless_local`). The local runtime's stand-ins for AWS (files
under its state folder) are `LocalAdapters`, read only by the adapters they replace (edge/events.py,
edge/secrets.py): no function's settings name a local file. Plain dataclasses, so the authorizer's import needs
no pydantic.
"""

from __future__ import annotations

import os
from dataclasses import MISSING, dataclass, field, fields
from typing import Any

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


def unless_local(variable: str) -> Any:
    """A field required unless the local runtime's stand-in `variable` is set (then it is not read)."""
    return field(default="", metadata={"unless_local": variable})


def _days(name: str, value: int | str) -> int:
    days = int(value)  # from the environment: a string
    if not 1 <= days <= 365:
        raise MissingSettings(f"{name.upper()} must be 1 to 365 days, not {days}")
    return days


@dataclass(frozen=True)
class LocalAdapters:
    """The local runtime's stand-ins for AWS, each a file under its state folder; never set in AWS."""

    local_event_sink: str = ""  # EventBridge: a JSON-lines file
    local_partner_secrets_file: str = ""  # Secrets Manager: partners' signing secrets, as JSON
    local_claim_token_key_file: str = ""
    local_receipt_code_keys_file: str = ""


@dataclass(frozen=True)
class SecretNames:
    """Where the secrets live in Secrets Manager (edge/secrets.py); each function's settings require the ones
    it reads."""

    partner_secrets_prefix: str = ""
    claim_token_key_secret: str = ""
    receipt_code_keys_secret: str = ""


@dataclass(frozen=True)
class AuthorizerSettings:
    idp_issuer: str
    idp_audiences: str  # comma-separated
    idp_jwks_url: str
    table_name: str
    staff_client_ids: str = ""  # comma-separated

    @property
    def audience_list(self) -> list[str]:
        return self.idp_audiences.split(",")

    @property
    def staff_client_list(self) -> list[str]:
        return self.staff_client_ids.split(",")


@dataclass(frozen=True)
class AppApiSettings:
    table_name: str
    idempotency_table_name: str
    claim_token_key_secret: str = unless_local("LOCAL_CLAIM_TOKEN_KEY_FILE")  # a listed claim is found by its token
    receipt_code_keys_secret: str = unless_local("LOCAL_RECEIPT_CODE_KEYS_FILE")  # a code is found by its keyed hash
    lineage_retention_days: int = 180  # how long a move can be undone (data/lineage.py)

    def __post_init__(self) -> None:
        object.__setattr__(self, "lineage_retention_days", _days("lineage_retention_days", self.lineage_retention_days))


@dataclass(frozen=True)
class OrgApiSettings(AppApiSettings):
    receipt_code_expiry_days: int = 30

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(
            self, "receipt_code_expiry_days", _days("receipt_code_expiry_days", self.receipt_code_expiry_days)
        )


@dataclass(frozen=True)
class PartnerWebhookSettings:
    table_name: str
    partner_secrets_prefix: str = unless_local("LOCAL_PARTNER_SECRETS_FILE")
    claim_token_key_secret: str = unless_local("LOCAL_CLAIM_TOKEN_KEY_FILE")
    claim_expiry_days: int = 30

    def __post_init__(self) -> None:
        object.__setattr__(self, "claim_expiry_days", _days("claim_expiry_days", self.claim_expiry_days))


@dataclass(frozen=True)
class LinkerSettings:
    table_name: str
    idempotency_table_name: str  # an erased profile's idempotent answers are deleted there
    event_bus_name: str = unless_local("LOCAL_EVENT_SINK")
    claim_token_key_secret: str = unless_local("LOCAL_CLAIM_TOKEN_KEY_FILE")
    lineage_retention_days: int = 180  # how long a move it makes can be undone (data/lineage.py)

    def __post_init__(self) -> None:
        object.__setattr__(self, "lineage_retention_days", _days("lineage_retention_days", self.lineage_retention_days))


@dataclass(frozen=True)
class EffectSettings:
    """What the effects read wherever they run (the linker, the operator's re-drive): the bus their events go
    to (edge/events.py) and the base of a claim's link."""

    event_bus_name: str = ""
    claim_url_base: str = "https://example.invalid/claim/"


def load[S](kind: type[S]) -> S:
    """`kind` (a settings dataclass) from the environment, each field from the variable of its name in capitals."""
    present: dict[str, Any] = {}
    missing: list[str] = []
    for setting in fields(kind):  # type: ignore[arg-type]
        variable = setting.name.upper()
        if variable in os.environ:
            present[setting.name] = os.environ[variable]
        required = setting.default is MISSING and setting.default_factory is MISSING
        local = setting.metadata.get("unless_local")
        if (required or local) and not present.get(setting.name) and not (local and os.environ.get(local)):
            missing.append(f"{variable} or {local}" if local else variable)
    if missing:
        raise MissingSettings(f"missing required environment variable(s): {'; '.join(missing)}")
    return kind(**present)


class CachedSettings:
    """Settings of one kind, read once per process (`cache_clear` reads them again)."""

    def __init__(self) -> None:
        self._read: dict[type[Any], Any] = {}

    def __call__[S](self, kind: type[S]) -> S:
        if kind not in self._read:
            self._read[kind] = load(kind)
        return self._read[kind]

    def cache_clear(self) -> None:
        self._read.clear()


settings = CachedSettings()
