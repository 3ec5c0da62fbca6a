"""The data layer's entry point: one `Store` per table, composed of the aggregates' records.

It implements every port of `customer_profiles.ports` structurally: domain code sees only the port it takes,
never a key, an expression or a boto3 type.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from customer_profiles.data.activity import ActivityRecords
from customer_profiles.data.claim_listing import ClaimListingRecords
from customer_profiles.data.claim_schedule import ClaimScheduleRecords
from customer_profiles.data.claims import ClaimRecords
from customer_profiles.data.consents import ConsentRecords
from customer_profiles.data.deliveries import DeliveryRecords
from customer_profiles.data.erasure import ErasureRecords
from customer_profiles.data.history import HistoryRecords
from customer_profiles.data.lineage import LineageRecords
from customer_profiles.data.memberships import MembershipRecords, add_membership_check
from customer_profiles.data.moves import MoveRecords
from customer_profiles.data.partner_orders import PartnerOrderRecords
from customer_profiles.data.partners import PartnerRecords
from customer_profiles.data.pending import PendingRecords
from customer_profiles.data.profiles import ProfileWrites
from customer_profiles.data.receipts import ReceiptRecords
from customer_profiles.data.report import ReportRecords
from customer_profiles.data.requests import RequestRecords
from customer_profiles.data.sales import SaleRecords
from customer_profiles.data.settings import SettingsRecords
from customer_profiles.data.table import Table
from customer_profiles.data.typed_sales import TypedSaleRecords
from customer_profiles.data.undo import UndoRecords
from customer_profiles.data.unmerge import UnmergeRecords
from customer_profiles.data.users import UserRecords


class Store(
    UserRecords,
    ProfileWrites,
    SaleRecords,
    TypedSaleRecords,
    HistoryRecords,
    MoveRecords,
    PartnerRecords,
    DeliveryRecords,
    PartnerOrderRecords,
    ClaimRecords,
    ClaimListingRecords,
    ClaimScheduleRecords,
    ReceiptRecords,
    PendingRecords,
    MembershipRecords,
    ConsentRecords,
    ActivityRecords,
    SettingsRecords,
    ReportRecords,
    RequestRecords,
    ErasureRecords,
    LineageRecords,
    UndoRecords,
    UnmergeRecords,
):
    def __init__(
        self, table_name: str, dynamodb: Any | None = None, *, requests_table: str = "", lineage_days: int = 180
    ) -> None:
        self.db = Table(table_name, dynamodb)
        self.db.lineage_days = lineage_days  # how long each move is kept for an undo (data/lineage.py)
        self.requests_table = requests_table  # idempotent requests' answers (data/requests.py)

    def as_staff(self, org_id: str, subject: str, any_role: Iterable[str]) -> Store:
        """This store for a staff member's writes: each transaction also checks that the member still holds one
        of `any_role` in the org (docs/decisions.md, authority at the write)."""
        roles = frozenset(any_role)
        acting = copy.copy(self)
        acting.db = self.db.with_standing(lambda tx: add_membership_check(tx, org_id, subject, roles))
        return acting

    def prime(self) -> None:
        """Build the client's request paths before a SnapStart snapshot (`Table.prime`)."""
        self.db.prime()

    def connect(self) -> None:
        """Open the connection after a SnapStart restore (`Table.connect`)."""
        self.db.connect()
