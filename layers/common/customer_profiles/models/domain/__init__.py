"""Domain models (pydantic): what the service knows, independent of HTTP and of how it is stored.

One module per feature; this package re-exports every public name so that callers keep one import path
(`from customer_profiles.models.domain import Profile`) whichever module defines it. Stored shapes are built
and read only by `customer_profiles.data.codec`; API shapes are in `models.api`.
"""

from customer_profiles.models.domain.claims import Claim, ClaimNotice, ClaimStatus
from customer_profiles.models.domain.effects import EffectKind, PendingEffect
from customer_profiles.models.domain.identity import (
    LOCALE,
    NAME,
    CapturedDetails,
    Holding,
    IdDocument,
    Identifier,
    IdentifierKind,
    Profile,
    ProfileAttributes,
    ProfileOrigin,
    Proof,
    Provenance,
    User,
    UserStatus,
)
from customer_profiles.models.domain.lineage import Move, MoveKind, MoveSubject
from customer_profiles.models.domain.sales import (
    ID,
    MAX_ENTITLEMENTS_PER_ORDER,
    MAX_LINES,
    MAX_PARTNER_ENTITLEMENTS,
    MAX_QUANTITY,
    Entitlement,
    EntitlementStatus,
    Order,
    OrderChannel,
    OrderLine,
    Partner,
    Receipt,
    TypedIdentifier,
)
from customer_profiles.models.domain.staff import (
    DEFAULT_POS_CAPTURE,
    OrgSettings,
    PosCapture,
    StaffMembership,
    StaffRole,
)

__all__ = [
    "DEFAULT_POS_CAPTURE",
    "ID",
    "LOCALE",
    "MAX_ENTITLEMENTS_PER_ORDER",
    "MAX_LINES",
    "MAX_PARTNER_ENTITLEMENTS",
    "MAX_QUANTITY",
    "NAME",
    "CapturedDetails",
    "Claim",
    "ClaimNotice",
    "ClaimStatus",
    "EffectKind",
    "Entitlement",
    "EntitlementStatus",
    "Holding",
    "IdDocument",
    "Identifier",
    "IdentifierKind",
    "Move",
    "MoveKind",
    "MoveSubject",
    "Order",
    "OrderChannel",
    "OrderLine",
    "OrgSettings",
    "Partner",
    "PendingEffect",
    "PosCapture",
    "Profile",
    "ProfileAttributes",
    "ProfileOrigin",
    "Proof",
    "Provenance",
    "Receipt",
    "StaffMembership",
    "StaffRole",
    "TypedIdentifier",
    "User",
    "UserStatus",
]
