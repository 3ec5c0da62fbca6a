"""The identification report: how well an org knows its customers, per period and channel."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, Field


class HeldFigures(BaseModel):
    """The sales by who holds them now."""

    person: int = Field(description="Reached a person (bought in an app, or proved, redeemed, claimed since)")
    dormant: int = Field(description="Held by a dormant holder of an email or phone nobody has proved yet")
    anonymous_with_receipt: int = Field(description="Nobody's: sold without email or phone, a receipt code printed")
    anonymous: int = Field(description="Nobody's, and no receipt code")
    erased: int = Field(description="Their customer was erased since")


class ReceiptFigures(BaseModel):
    issued: int = Field(description="Anonymous window sales given a receipt code")
    redeemed: int = Field(description="Of those, codes redeemed in the app")


class ClaimFigures(BaseModel):
    """A reseller's claims, by the period they were opened in."""

    opened: int
    accepted: int
    cancelled: int
    readdressed: int = Field(description="Cancelled and replaced by a claim to a new buyer (the partner's change)")
    expired: int


class ReportFigures(BaseModel):
    sales: int
    tickets: int
    held: HeldFigures
    receipt_codes: ReceiptFigures
    claims: ClaimFigures
    dormant_holders_activated: int = Field(
        description="Sales typed with an email or phone whose dormant holder became a person after the sale "
        "(signed up with it verified, or proved it): counted in the sale's period"
    )
    median_seconds_to_activation: int | None = Field(
        description="Of those, the median time from sale to activation, within 9.1% (log buckets; "
        "docs/decisions.md section 23); null for none"
    )

    def flat(self) -> dict[str, int | None]:
        """One level, as CSV columns name them (held_person, claims_opened, receipt_codes_issued...)."""
        flat: dict[str, int | None] = {}
        for name, value in self.model_dump().items():
            if isinstance(value, dict):
                flat.update({f"{name}_{inner}": number for inner, number in value.items()})
            else:
                flat[name] = value
        return flat


class ReportRow(ReportFigures):
    period: str = Field(description="2026-03-14 (day), 2026-W11 (ISO week), 2026-03 (month)", examples=["2026-03-14"])
    first_day: date = Field(description="The period's first day within the report's range")
    last_day: date = Field(description="The period's last day within the report's range")
    channel: Literal["window", "consumer_app", "white_label", "reseller"]
    staff: str | None = Field(default=None, description="by_staff: the till's staff subject (window sales)")


class IdentificationReportResponse(BaseModel):
    """How well the org knows its customers: per period (UTC days) and channel, or per period and till.
    Every figure is counted in its sale's period (a claim: the period it was opened)."""

    org_id: str
    first_day: date
    last_day: date
    by: Literal["day", "week", "month"]
    by_staff: bool
    time_zone: Literal["UTC"] = "UTC"
    rows: list[ReportRow] = Field(
        description="By period, then channel (every channel, zeros included); by staff: the tills that sold"
    )
    totals: ReportFigures = Field(description="This page's rows added up")
    next_cursor: str | None = Field(default=None, description="Pass as `cursor` for the next periods; null on the last")
