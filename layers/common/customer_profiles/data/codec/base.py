"""What every codec module shares: the item type, DynamoDB's numbers as ints, an item read into a model.

DynamoDB numbers come back as Decimal (every number we store is an integer).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import BaseModel

Item = dict[str, Any]


def plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def model_from_item[M: BaseModel](model: type[M], item: Item) -> M:
    return model.model_validate({k: v for k, v in plain(item).items() if k in model.model_fields})
