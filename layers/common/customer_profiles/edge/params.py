"""The path and query parameters the API functions share, each with its one pattern or bound."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path, Query

# The ids of what the service names (orgs, profiles, entitlements, claims, partners): 1 to 64 characters, a
# letter or digit first. An item's id (models.domain.ID) also takes `.` and `:`, as catalogues write them.
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"

ORG_ID = Annotated[str, Path(pattern=ID_PATTERN)]
PROFILE_ID = Annotated[str, Path(pattern=ID_PATTERN)]
ENTITLEMENT_ID = Annotated[str, Path(pattern=ID_PATTERN)]
CLAIM_ID = Annotated[str, Path(pattern=ID_PATTERN)]
ORDER_ID = Annotated[str, Path(pattern=ID_PATTERN)]
PARTNER_ID = Annotated[str, Path(pattern=ID_PATTERN)]
OPTIONAL_ORG_ID = Annotated[str | None, Query(pattern=ID_PATTERN)]

LIMIT = Annotated[int, Query(ge=1, le=100)]
CURSOR = Annotated[str | None, Query(max_length=2048)]
