"""Stream images to plain Python values, for every shape a DynamoDB stream record can take.

Hand-written rather than boto3's TypeDeserializer: DynamoDB Local writes an empty map as `{}` (no type at
all) where DynamoDB gives `{"M": {}}`, and the strict deserializer raises on it, failing the whole record.
Numbers become int when whole (every number we store is), binary becomes bytes (base64 in Lambda's JSON).
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any


def plain_image(image: dict[str, Any] | None) -> dict[str, Any] | None:
    if image is None:
        return None
    return {name: plain_value(value) for name, value in image.items()}


def plain_value(value: Any) -> Any:  # noqa: PLR0911 - one branch per DynamoDB type
    if not isinstance(value, dict) or not value:
        return {}  # DynamoDB Local's empty map
    (kind, inner), *_ = value.items()
    match kind:
        case "S":
            return inner
        case "N":
            return _number(inner)
        case "BOOL":
            return bool(inner)
        case "NULL":
            return None
        case "M":
            return {k: plain_value(v) for k, v in (inner or {}).items()}
        case "L":
            return [plain_value(v) for v in inner or []]
        case "B":
            return _bytes(inner)
        case "SS":
            return set(inner)
        case "NS":
            return {_number(n) for n in inner}
        case "BS":
            return {_bytes(b) for b in inner}
    raise ValueError(f"unknown DynamoDB type {kind!r}")


def _number(text: str) -> int | Decimal:
    number = Decimal(text)
    return int(number) if number == number.to_integral_value() else number


def _bytes(value: Any) -> bytes:
    return value if isinstance(value, bytes) else base64.b64decode(value)


def record_identity(record: dict[str, Any]) -> tuple[str, str]:
    """(the record's id, when the stream saw the change as `utc_now` writes times): the same for every
    delivery of the record. The id is the record's `eventID` (its sequence number if it has none)."""
    change = record.get("dynamodb") or {}
    record_id = str(record.get("eventID") or change.get("SequenceNumber") or "")
    seconds = change.get("ApproximateCreationDateTime")
    try:
        at = datetime.fromtimestamp(float(seconds), UTC) if seconds is not None else datetime.now(UTC)
    except (TypeError, ValueError, OverflowError):
        at = datetime.now(UTC)  # only a record without its time: AWS and DynamoDB Local always give one
    return record_id, at.isoformat(timespec="milliseconds").replace("+00:00", "Z")
