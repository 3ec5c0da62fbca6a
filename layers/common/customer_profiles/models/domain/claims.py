"""Claims: a reseller's buyer's link to what was bought, and its lifecycle."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, Field

from customer_profiles.models.domain.identity import Identifier


def _claimed_was_used(value: Any) -> Any:
    """Claims claimed before the lifecycle had four states were stored as `used`."""
    return "claimed" if value == "used" else value


# open -> claimed (by whoever holds the link or verified the recipient), open or expired -> cancelled (staff,
# the partner, or a new recipient: the claim is replaced), open -> expired (the schedule, after expires_at).
ClaimStatus = Literal["open", "claimed", "cancelled", "expired"]
# What a claim notification asks the notifier for.
ClaimNotice = Literal["ClaimNotificationRequested", "ClaimReminderRequested"]


class Claim(BaseModel):
    claim_id: str
    org_id: str
    partner_id: str
    profile_id: str
    order_id: str
    entitlement_ids: list[str]
    email: str | None = None
    phone: str | None = None
    status: Annotated[ClaimStatus, BeforeValidator(_claimed_was_used)]
    expires_at: str
    created_at: str
    external_order_id: str | None = None  # the partner's own id of the order
    replaced_by: str | None = None  # the claim that took over when the partner changed the recipient
    resends: int = 0  # notifications staff asked for again
    resent_at: str | None = None
    used_by_user_id: str | None = None  # who claimed it, and what they were answered (a retry gets it again)
    used_answer: dict[str, Any] | None = None
    voided_entitlement_ids: list[str] = Field(default_factory=list)  # what its cancellation voided (said again)

    def recipients(self) -> list[Identifier]:
        """The identifiers it is addressed to (none once it is closed: it keeps no contact details)."""
        return [(kind, value) for kind, value in (("email", self.email), ("phone", self.phone)) if value]  # type: ignore[misc]
