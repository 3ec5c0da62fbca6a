"""An org's staff memberships and its settings."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

StaffRole = Literal["admin", "pos", "viewer"]


class StaffMembership(BaseModel):
    """An identity provider subject's rights in one org, kept by the service (token claims grant nothing)."""

    org_id: str
    subject: str
    roles: list[StaffRole]
    granted_by: str  # "operator", or the granting admin's subject
    granted_at: str
    version: int = 1


# How strongly the window asks for an email or phone: `require` refuses an anonymous sale, `suggest` (the
# default) sells and says capturing one was suggested, `off` says nothing.
PosCapture = Literal["off", "suggest", "require"]
DEFAULT_POS_CAPTURE: PosCapture = "suggest"


class OrgSettings(BaseModel):
    """An org's settings, at a version (0: never written, every setting at its default)."""

    model_config = ConfigDict(frozen=True)

    org_id: str
    pos_capture: PosCapture = DEFAULT_POS_CAPTURE
    version: int = 0
    updated_at: str | None = None
