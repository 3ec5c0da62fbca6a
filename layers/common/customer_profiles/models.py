"""Domain and API models (pydantic). Stored shapes are built and read only by `customer_profiles.dal`."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

UserStatus = Literal["active", "dormant", "merged"]


class User(BaseModel):
    model_config = ConfigDict(frozen=True)

    user_id: str
    status: UserStatus
    subject: str | None = None
    email: str | None = None
    phone: str | None = None
    merged_into: str | None = None
    created_at: str
    updated_at: str
    version: int = 1


class UserResponse(BaseModel):
    user_id: str
    status: UserStatus
    email: str | None = None
    phone: str | None = None
    created_at: str
    updated_at: str

    @classmethod
    def of(cls, user: User) -> UserResponse:
        return cls(
            user_id=user.user_id,
            status=user.status,
            email=user.email,
            phone=user.phone,
            created_at=user.created_at,
            updated_at=user.updated_at,
        )


class ErrorDetail(BaseModel):
    code: str
    message: str
    field: str | None = None


class ErrorResponse(BaseModel):
    error: ErrorDetail
