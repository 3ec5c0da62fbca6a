"""Staff memberships in the local runtime's DynamoDB: `make token ARGS="--org ORG --role pos"` makes the
token's subject staff of ORG, the way the operator's `add-staff` and an org admin do in AWS (no token
claim grants a role)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class LocalStaffError(Exception):
    """`make run` is not up for this state directory, or the membership was refused."""


def running_dynamodb(state_dir: Path) -> tuple[str, str]:
    """The DynamoDB endpoint and table of the local runtime running on `state_dir` (LocalStaffError, saying
    what to do, when none runs there: never a stale runtime.json's endpoint)."""
    from local_runtime.state import NotRunning, running_runtime

    try:
        info = running_runtime(state_dir)
    except NotRunning as error:
        raise LocalStaffError(str(error)) from None
    return str(info["dynamodb_endpoint"]), str(info["table"])


def grant_local(endpoint: str, table: str, org_id: str, subject: str, roles: Sequence[str]) -> None:
    import boto3

    sys.path.insert(0, str(ROOT / "layers" / "common"))
    from customer_profiles.data.store import Store
    from customer_profiles.domain.staff.memberships import grant
    from customer_profiles.errors import DomainError

    dynamodb = boto3.resource(
        "dynamodb",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    try:
        grant(Store(table, dynamodb), org_id, subject, list(roles), granted_by="local-token")  # type: ignore[arg-type]
    except DomainError as error:
        raise LocalStaffError(f"refused: {error.message}") from error
