"""Data access: the only module that knows the table's keys, indexes, expressions and boto3.

Key design and the access patterns it serves: docs/decisions.md. Every write is conditional or
transactional; a failed condition surfaces as the domain's `Conflict`, never as a boto3 error.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import boto3
from botocore.exceptions import ClientError

from customer_profiles.errors import Conflict
from customer_profiles.identifiers import IdentifierKind
from customer_profiles.models import User

Key = dict[str, str]
Identifier = tuple[IdentifierKind, str]

# Item prefixes. Entities with their own partition key spread writes over many partitions.
USER_PREFIX = "USER#"
SUBJECT_PREFIX = "SUBJECT#"
IDENTIFIER_PREFIX = "IDENT#"
USER_SK = "USER"
SUBJECT_SK = "SUBJECT"
IDENTIFIER_SK = "IDENT"


def user_key(user_id: str) -> Key:
    return {"pk": f"{USER_PREFIX}{user_id}", "sk": USER_SK}


def subject_key(subject: str) -> Key:
    return {"pk": f"{SUBJECT_PREFIX}{subject}", "sk": SUBJECT_SK}


def identifier_key(identifier: Identifier) -> Key:
    kind, value = identifier
    return {"pk": f"{IDENTIFIER_PREFIX}{kind}#{value}", "sk": IDENTIFIER_SK}


def is_user_item(item: dict[str, Any]) -> bool:
    return str(item.get("pk", "")).startswith(USER_PREFIX) and item.get("sk") == USER_SK


def user_from_item(item: dict[str, Any]) -> User:
    return User(
        user_id=item["user_id"],
        status=item["status"],
        subject=item.get("subject"),
        email=item.get("email"),
        phone=item.get("phone"),
        merged_into=item.get("merged_into"),
        created_at=item["created_at"],
        updated_at=item["updated_at"],
        version=int(item.get("version", 1)),
    )


def user_to_item(user: User) -> dict[str, Any]:
    item = {**user_key(user.user_id), "type": "user", **user.model_dump(exclude_none=True)}
    return item


def _not_exists() -> str:
    return "attribute_not_exists(pk)"


class ProfileStore:
    """Reads and writes the profiles table. Create one per table; the boto3 resource is shared."""

    def __init__(self, table_name: str, dynamodb: Any | None = None) -> None:
        self._dynamodb = dynamodb or boto3.resource("dynamodb")
        self._table = self._dynamodb.Table(table_name)
        self._client = self._dynamodb.meta.client
        self.table_name = table_name

    # --- users ----------------------------------------------------------------------------------
    def get_user(self, user_id: str) -> User | None:
        item = self._table.get_item(Key=user_key(user_id), ConsistentRead=True).get("Item")
        return user_from_item(item) if item else None

    def user_id_for_subject(self, subject: str) -> str | None:
        item = self._table.get_item(Key=subject_key(subject), ConsistentRead=True).get("Item")
        return item["user_id"] if item else None

    def identifier_holders(self, identifiers: Sequence[Identifier]) -> dict[Identifier, str]:
        """Which user holds each identifier (absent when nobody does). One BatchGetItem."""
        if not identifiers:
            return {}
        keys = [identifier_key(i) for i in dict.fromkeys(identifiers)]
        response = self._client.batch_get_item(RequestItems={self.table_name: {"Keys": keys, "ConsistentRead": True}})
        holders: dict[Identifier, str] = {}
        for item in response["Responses"].get(self.table_name, []):
            holders[(item["kind"], item["value"])] = item["user_id"]
        # Unprocessed keys are rare at this size; read them one by one rather than lose them.
        for key in response.get("UnprocessedKeys", {}).get(self.table_name, {}).get("Keys", []):
            item = self._table.get_item(Key=key, ConsistentRead=True).get("Item")
            if item:
                holders[(item["kind"], item["value"])] = item["user_id"]
        return holders

    def create_registered_user(self, user: User, identifiers: Iterable[Identifier]) -> None:
        """The user, its subject mapping and its identifiers, all or nothing."""
        items: list[dict[str, Any]] = [
            self._put({**subject_key(user.subject or ""), "type": "subject", "user_id": user.user_id}),
            self._put(user_to_item(user)),
        ]
        items += [self._put(self._identifier_item(i, user.user_id, user.updated_at)) for i in identifiers]
        self._transact(items)

    def add_identifiers(self, user: User, updated: User, identifiers: Iterable[Identifier]) -> None:
        """Attach identifiers to an existing user, guarded by the user's version."""
        items = [
            {
                "Put": {
                    "TableName": self.table_name,
                    "Item": user_to_item(updated),
                    "ConditionExpression": "version = :expected",
                    "ExpressionAttributeValues": {":expected": user.version},
                }
            }
        ]
        items += [self._put(self._identifier_item(i, user.user_id, updated.updated_at)) for i in identifiers]
        self._transact(items)

    # --- helpers --------------------------------------------------------------------------------
    @staticmethod
    def _identifier_item(identifier: Identifier, user_id: str, now: str) -> dict[str, Any]:
        kind, value = identifier
        return {
            **identifier_key(identifier),
            "type": "identifier",
            "kind": kind,
            "value": value,
            "user_id": user_id,
            "created_at": now,
        }

    def _put(self, item: dict[str, Any]) -> dict[str, Any]:
        return {"Put": {"TableName": self.table_name, "Item": item, "ConditionExpression": _not_exists()}}

    def _transact(self, items: list[dict[str, Any]]) -> None:
        try:
            self._client.transact_write_items(TransactItems=items)
        except ClientError as error:
            code = error.response["Error"]["Code"]
            if code in ("TransactionCanceledException", "ConditionalCheckFailedException"):
                raise Conflict("a concurrent change won; nothing was written") from error
            raise
