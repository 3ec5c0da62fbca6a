"""A person's account, profiles and identifiers, as the app sees them."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StringConstraints, model_validator

from customer_profiles.models.consents import ConsentResponse
from customer_profiles.models.domain import Profile, ProfileAttributes, ProfileOrigin, User, UserStatus


class UserResponse(BaseModel):
    user_id: str
    status: UserStatus
    email: str | None = None
    phone: str | None = None
    created_at: str
    updated_at: str
    profile: ProfileSummary | None = Field(
        default=None, description="The white-label app's org profile, when registering through one."
    )

    @classmethod
    def of(cls, user: User, profile: Profile | None = None) -> UserResponse:
        return cls(
            user_id=user.user_id,
            status=user.status,
            email=user.email,
            phone=user.phone,
            created_at=user.created_at,
            updated_at=user.updated_at,
            profile=ProfileSummary.of(profile) if profile else None,
        )


class ProfileResponse(BaseModel):
    org_id: str
    profile_id: str
    origin: ProfileOrigin
    attributes: ProfileAttributes
    created_at: str
    updated_at: str
    version: int

    @classmethod
    def of(cls, profile: Profile) -> ProfileResponse:
        return cls(**profile.model_dump(include=set(cls.model_fields)))


class ProfileWithConsentsResponse(ProfileResponse):
    consents: list[ConsentResponse] = Field(description="Each purpose's current statement, or `unknown`")


class ProfileUpdateRequest(BaseModel):
    """A partial update; `version` is the one the caller read (optimistic concurrency)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"version": 1, "attributes": {"display_name": "Dana O.", "birth_date": "1990-04-01"}}]
        },
    )

    version: StrictInt = Field(ge=1)
    attributes: ProfileAttributes


class ProfileSummary(BaseModel):
    org_id: str
    profile_id: str
    origin: ProfileOrigin
    created_at: str

    @classmethod
    def of(cls, profile: Profile) -> ProfileSummary:
        return cls(**profile.model_dump(include=set(cls.model_fields)))


class ProfileListResponse(BaseModel):
    profiles: list[ProfileSummary]
    next_cursor: str | None = None


class AttachIdentifierRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"version": 1, "email": "walk.in@example.com"}]}
    )

    version: StrictInt = Field(ge=1)
    email: Annotated[str, StringConstraints(max_length=254)] | None = None
    phone: Annotated[str, StringConstraints(max_length=32)] | None = None

    @model_validator(mode="after")
    def _one_identifier(self) -> AttachIdentifierRequest:
        if not (self.email or self.phone):
            raise ValueError("give an email or a phone")
        return self


class HeldIdentifier(BaseModel):
    kind: Literal["email", "phone"]
    value: str
    provenance: str = Field(description="verified: the identity provider proved it to you")
    verified_at: str = Field(description="When you proved it")


class IdentifierListResponse(BaseModel):
    identifiers: list[HeldIdentifier] = Field(
        description="Every identifier your account holds (a sale typed with one of them comes to you), "
        "whatever your profile shows; release one with DELETE /v1/me/identifiers/{kind}/{value}"
    )
