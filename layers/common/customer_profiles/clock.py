"""The clock and the ids: one instant format (ISO 8601, milliseconds, `Z`) and one way to make each kind of id."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

TIME_ORDERED_ID_MARK = "t"  # sorts above every hex digit: uuid4 hex ids (which are all older) sort below


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_id() -> str:
    return uuid.uuid4().hex


def time_ordered_id(at: str) -> str:
    """An id that sorts by `at` (an instant as `utc_now` writes it): `t`, the instant's 17 digits, 16 random
    hex digits (34 characters, within the path pattern of ids)."""
    digits = "".join(c for c in at if c.isdigit())
    return f"{TIME_ORDERED_ID_MARK}{digits}{uuid.uuid4().hex[:16]}"
