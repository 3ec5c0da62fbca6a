"""What a function's worker runs with in the local runtime, besides the template's variables: the local
endpoints and the stand-ins for AWS (`make run`, `python -m local_runtime invoke` and the benchmark use it)."""

from __future__ import annotations

import secrets
from pathlib import Path


def ensure_claim_token_key(state_dir: Path) -> Path:
    path = state_dir / "claim-token.key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path


def ensure_receipt_code_keys(state_dir: Path) -> Path:
    """The receipt codes' HMAC keys (white-space separated, current first), as the stack's secret holds them."""
    path = state_dir / "receipt-code.keys"
    if not path.exists():
        path.write_text(secrets.token_hex(32) + "\n")
        path.chmod(0o600)
    return path


def function_environment(
    state_dir: Path, endpoint: str, chaos: int | None = None, *, log_level: str = "INFO"
) -> dict[str, str]:
    """What every function's worker gets besides the template's variables: the local endpoints and stand-ins.
    Quieter than INFO, the metrics' lines (CloudWatch's embedded format, one per invocation) are not printed."""
    from local_runtime.template import REGION

    quiet = log_level in ("WARNING", "ERROR")
    return {
        **({"POWERTOOLS_METRICS_DISABLED": "true"} if quiet else {}),
        "AWS_ENDPOINT_URL_DYNAMODB": endpoint,
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "POWERTOOLS_TRACE_DISABLED": "true",
        "LOCAL_EVENT_SINK": str(state_dir / "events.jsonl"),
        # Secrets Manager's stand-ins: partners' webhook secrets (`make operator ARGS="register-partner
        # ..."` writes them), the claim-token key and the receipt-code keys (made on first run).
        "LOCAL_PARTNER_SECRETS_FILE": str(state_dir / "partner-secrets.json"),
        "LOCAL_CLAIM_TOKEN_KEY_FILE": str(ensure_claim_token_key(state_dir)),
        "LOCAL_RECEIPT_CODE_KEYS_FILE": str(ensure_receipt_code_keys(state_dir)),
        **({"LOCAL_CHAOS_SEED": str(chaos)} if chaos is not None else {}),
    }


def template_overrides(state_dir: Path, overrides: dict[str, str] | None = None) -> dict[str, str]:
    """The template's parameters for local use: the local identity provider (made on first run), unless
    `overrides` names another (or sets other parameters, such as LogLevel)."""
    from local_runtime.idp import init_idp, jwks_path
    from local_runtime.template import LOCAL_PARAMETERS

    init_idp(state_dir)
    return {**LOCAL_PARAMETERS, "IdpJwksUrl": jwks_path(state_dir).as_uri(), **(overrides or {})}
