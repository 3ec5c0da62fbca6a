"""Opaque cursors: a JSON position, base64url-encoded. A cursor is client input: decoding one that this
service did not make is an InvalidInput (422), never an error of ours."""

from __future__ import annotations

import base64
import binascii
import json
from decimal import Decimal
from typing import Any

from customer_profiles.errors import InvalidInput


def encode_cursor(position: Any) -> str | None:
    """The cursor of a position (None for none); numbers read as Decimal are written as integers."""
    if not position:
        return None
    return base64.urlsafe_b64encode(json.dumps(position, sort_keys=True, default=_integer).encode()).decode()


def decode_cursor(cursor: str | None) -> Any:
    """The position a cursor holds (always a JSON object: `encode_cursor` makes no other), or None for none."""
    if not cursor:
        return None
    try:
        position = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, binascii.Error, RecursionError) as error:  # RecursionError: deeply nested JSON
        raise InvalidInput("invalid cursor", field="cursor") from error
    if not isinstance(position, dict):
        raise InvalidInput("invalid cursor", field="cursor")
    return position


def _integer(value: Any) -> int:
    if isinstance(value, Decimal):
        return int(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")
