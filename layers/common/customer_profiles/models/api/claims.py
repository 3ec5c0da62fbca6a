"""Claims as their recipients and the org's staff see them (never their token)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from customer_profiles.models.domain import Claim, ClaimStatus, Entitlement


class ClaimStaffResponse(BaseModel):
    """A claim as staff of its org see it after a resend or a cancellation (never its token)."""

    claim_id: str
    org_id: str
    order_id: str
    status: ClaimStatus
    expires_at: str
    entitlements: int
    resends: int = 0
    voided: list[str] = Field(default_factory=list)

    @classmethod
    def of(cls, claim: Claim, voided: list[str] | None = None) -> ClaimStaffResponse:
        return cls(
            claim_id=claim.claim_id,
            org_id=claim.org_id,
            order_id=claim.order_id,
            status=claim.status,
            expires_at=claim.expires_at,
            entitlements=len(claim.entitlement_ids),
            resends=claim.resends,
            voided=voided or [],
        )


class ClaimResponse(BaseModel):
    org_id: str
    profile_id: str
    entitlements: list[Entitlement]


class ClaimSummary(BaseModel):
    """An open claim as its recipient sees it in `GET /v1/me/claims` (never its token)."""

    claim_id: str
    org_id: str
    partner_id: str
    order_id: str
    entitlements: int = Field(description="How many entitlements the claim holds")
    addressed_to: list[Literal["email", "phone"]] = Field(description="Which of your identifiers it was sent to")
    status: Literal["open"] = "open"
    expires_at: str
    created_at: str

    @classmethod
    def of(cls, claim: Claim) -> ClaimSummary:
        return cls(
            claim_id=claim.claim_id,
            org_id=claim.org_id,
            partner_id=claim.partner_id,
            order_id=claim.order_id,
            entitlements=len(claim.entitlement_ids),
            addressed_to=[kind for kind, _ in claim.recipients()],
            expires_at=claim.expires_at,
            created_at=claim.created_at,
        )


class ClaimListResponse(BaseModel):
    claims: list[ClaimSummary]
    next_cursor: str | None = None
