"""API models (pydantic): the requests and responses of the HTTP routes, `...Request` / `...Response`.

One module per feature; this package re-exports every public name so that callers keep one import path
(`from customer_profiles.models.api import OrderRequest`) whichever module defines it.
"""

from customer_profiles.models.api.claims import ClaimListResponse, ClaimResponse, ClaimStaffResponse, ClaimSummary
from customer_profiles.models.api.errors import ErrorDetail, ErrorFieldDetail, ErrorResponse
from customer_profiles.models.api.identity import (
    AttachIdentifierRequest,
    HeldIdentifier,
    IdentifierListResponse,
    ProfileListResponse,
    ProfileResponse,
    ProfileSummary,
    ProfileUpdateRequest,
    ProfileWithConsentsResponse,
    UserResponse,
)
from customer_profiles.models.api.partners import (
    EXTERNAL_ORDER_ID,
    PartnerBuyer,
    PartnerEventResponse,
    PartnerOrderCancelled,
    PartnerOrderRequest,
    PartnerOrderResponse,
    PartnerRecipientChanged,
)
from customer_profiles.models.api.privacy import (
    ActivityExport,
    IdentifierExport,
    OrgProfileExport,
    PersonExport,
    ProfileExport,
)
from customer_profiles.models.api.report import (
    ClaimFigures,
    HeldFigures,
    IdentificationReportResponse,
    ReceiptFigures,
    ReportFigures,
    ReportRow,
)
from customer_profiles.models.api.sales import (
    HistoryEntry,
    HistoryResponse,
    OrderRequest,
    OrderResponse,
    PosCustomer,
    PosSaleRequest,
    PosSaleResponse,
    ReceiptRedemptionResponse,
)
from customer_profiles.models.api.staff import (
    OrgProfileDetailResponse,
    OrgProfileListResponse,
    OrgProfileResponse,
    OrgSettingsRequest,
    OrgSettingsResponse,
    ProfileActivityResponse,
    StaffListResponse,
    StaffMemberRequest,
    StaffMemberResponse,
)

__all__ = [
    "EXTERNAL_ORDER_ID",
    "ActivityExport",
    "AttachIdentifierRequest",
    "ClaimFigures",
    "ClaimListResponse",
    "ClaimResponse",
    "ClaimStaffResponse",
    "ClaimSummary",
    "ErrorDetail",
    "ErrorFieldDetail",
    "ErrorResponse",
    "HeldFigures",
    "HeldIdentifier",
    "HistoryEntry",
    "HistoryResponse",
    "IdentificationReportResponse",
    "IdentifierExport",
    "IdentifierListResponse",
    "OrderRequest",
    "OrderResponse",
    "OrgProfileDetailResponse",
    "OrgProfileExport",
    "OrgProfileListResponse",
    "OrgProfileResponse",
    "OrgSettingsRequest",
    "OrgSettingsResponse",
    "PartnerBuyer",
    "PartnerEventResponse",
    "PartnerOrderCancelled",
    "PartnerOrderRequest",
    "PartnerOrderResponse",
    "PartnerRecipientChanged",
    "PersonExport",
    "PosCustomer",
    "PosSaleRequest",
    "PosSaleResponse",
    "ProfileActivityResponse",
    "ProfileExport",
    "ProfileListResponse",
    "ProfileResponse",
    "ProfileSummary",
    "ProfileUpdateRequest",
    "ProfileWithConsentsResponse",
    "ReceiptFigures",
    "ReceiptRedemptionResponse",
    "ReportFigures",
    "ReportRow",
    "StaffListResponse",
    "StaffMemberRequest",
    "StaffMemberResponse",
    "UserResponse",
]
