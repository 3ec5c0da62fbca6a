"""The one JSON error shape every answer that is not a success takes."""

from __future__ import annotations

from pydantic import BaseModel, Field


class ErrorFieldDetail(BaseModel):
    field: str
    message: str


class ErrorDetail(BaseModel):
    code: str = Field(description="What went wrong, for code to branch on (e.g. not_found, invalid_request)")
    message: str
    field: str | None = Field(default=None, description="The input the error is about, when there is one")
    details: list[ErrorFieldDetail] | None = Field(default=None, description="Each invalid input (422)")


class ErrorResponse(BaseModel):
    error: ErrorDetail
