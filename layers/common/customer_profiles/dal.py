"""Data access: the only module that knows the table's keys, indexes, expressions and boto3.

Key design and the access patterns it serves: docs/decisions.md. Every write is conditional or
transactional; a failed condition surfaces as the domain's `Conflict`, never as a boto3 error.
"""

from __future__ import annotations

import base64
import binascii
import json
import unicodedata
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import boto3
from boto3.dynamodb.conditions import Key as KeyCondition
from botocore.exceptions import ClientError

from customer_profiles.errors import Conflict, InvalidInput
from customer_profiles.identifiers import IdentifierKind
from customer_profiles.models import Claim, Entitlement, EntitlementStatus, Order, Partner, Profile, User

Key = dict[str, str]
Identifier = tuple[IdentifierKind, str]

# Item prefixes. Entities with their own partition key spread writes over many partitions.
USER_PREFIX = "USER#"
SUBJECT_PREFIX = "SUBJECT#"
IDENTIFIER_PREFIX = "IDENT#"
USER_SK = "USER"
SUBJECT_SK = "SUBJECT"
IDENTIFIER_SK = "IDENT"
APP_CLIENT_PREFIX = "APPCLIENT#"
APP_CLIENT_SK = "APPCLIENT"
PROFILE_SK = "PROFILE"
USER_ORG_SK = "USERORG"
ORDER_SK_PREFIX = "ORDER#"
ENTITLEMENT_SK_PREFIX = "ENT#"
HISTORY_PREFIX = "HIST#"
PROFILE_BY_USER_PREFIX = "PROFILE#ORG#"
BY_USER_INDEX = "gsi1"
BY_ORG_INDEX = "gsi2"
ORG_CONFIG_SK = "CONFIG"
PARTNER_PREFIX = "PARTNER#"
PARTNER_SK = "PARTNER"
WEBHOOK_SK = "WEBHOOK"
CLAIM_PREFIX = "CLAIM#"
CLAIM_SK = "CLAIM"
LINK_TASK_PREFIX = "LINKTASK#"
LINK_TASK_SK = "TASK"
PENDING_LINK_TASKS = "LINKTASKS#PENDING"
CARD_SK = "CARD"
SEARCH_SK_PREFIX = "SEARCH#"
# The org listing key takes one write per new profile; 4 shards give it 4,000 writes/s (docs/decisions.md).
ORG_LISTING_SHARDS = 4


def user_key(user_id: str) -> Key:
    return {"pk": f"{USER_PREFIX}{user_id}", "sk": USER_SK}


def subject_key(subject: str) -> Key:
    return {"pk": f"{SUBJECT_PREFIX}{subject}", "sk": SUBJECT_SK}


def identifier_key(identifier: Identifier) -> Key:
    kind, value = identifier
    return {"pk": f"{IDENTIFIER_PREFIX}{kind}#{value}", "sk": IDENTIFIER_SK}


def app_client_key(client_id: str) -> Key:
    return {"pk": f"{APP_CLIENT_PREFIX}{client_id}", "sk": APP_CLIENT_SK}


def profile_pk(org_id: str, profile_id: str) -> str:
    return f"ORG#{org_id}#PROFILE#{profile_id}"


def profile_key(org_id: str, profile_id: str) -> Key:
    return {"pk": profile_pk(org_id, profile_id), "sk": PROFILE_SK}


def user_org_key(user_id: str, org_id: str) -> Key:
    return {"pk": f"{USER_PREFIX}{user_id}#ORG#{org_id}", "sk": USER_ORG_SK}


def org_listing_pk(org_id: str, profile_id: str) -> str:
    return f"ORG#{org_id}#PROFILES#{zlib.crc32(profile_id.encode()) % ORG_LISTING_SHARDS}"


def org_config_key(org_id: str) -> Key:
    return {"pk": f"ORG#{org_id}", "sk": ORG_CONFIG_SK}


def card_key(org_id: str, fingerprint: str) -> Key:
    return {"pk": f"ORG#{org_id}#CARD#{fingerprint}", "sk": CARD_SK}


def entitlement_key(org_id: str, profile_id: str, entitlement_id: str) -> Key:
    return {"pk": profile_pk(org_id, profile_id), "sk": f"{ENTITLEMENT_SK_PREFIX}{entitlement_id}"}


def search_name(value: str) -> str:
    """Case- and accent-insensitive form of a name, for prefix search."""
    decomposed = unicodedata.normalize("NFKD", value.casefold())
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).split())


def org_search_pk(org_id: str, by: str, value: str) -> str:
    # Names are keyed by their first character, so a prefix search reads one key and name writes spread
    # over as many keys as there are initials.
    return f"ORG#{org_id}#{by.upper()}#{value[:1] if by == 'name' else value}"


def search_items(profile: Profile) -> list[dict[str, Any]]:
    """Index items in the profile's own partition: org search by email, phone and name prefix (gsi2)."""
    pk = profile_pk(profile.org_id, profile.profile_id)
    captured = profile.captured
    found: list[tuple[str, str, str]] = []
    if captured and captured.email:
        found.append(("email", "email", captured.email))
    if captured and captured.phone:
        found.append(("phone", "phone", captured.phone))
    for part in ("given_name", "family_name"):
        name = getattr(profile.attributes, part)
        if name and search_name(name):
            found.append((f"name#{part}", "name", search_name(name)))
    return [
        {
            "pk": pk,
            "sk": f"{SEARCH_SK_PREFIX}{suffix}",
            "type": "search",
            "profile_id": profile.profile_id,
            "gsi2pk": org_search_pk(profile.org_id, by, value),
            "gsi2sk": f"{value}#{profile.profile_id}",
        }
        for suffix, by, value in found
    ]


def user_history_pk(user_id: str, org_id: str | None = None) -> str:
    return f"{USER_PREFIX}{user_id}" + (f"#ORG#{org_id}" if org_id else "")


def _plain(value: Any) -> Any:
    """DynamoDB numbers come back as Decimal; every number we store is an integer."""
    if isinstance(value, Decimal):
        return int(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def encode_cursor(last_key: dict[str, Any] | None) -> str | None:
    if not last_key:
        return None
    return base64.urlsafe_b64encode(json.dumps(_plain(last_key), sort_keys=True).encode()).decode()


def decode_cursor(cursor: str | None, *, partition_attribute: str, partition_value: str) -> dict[str, Any] | None:
    """A cursor is only valid for the query it came from: another partition's cursor is refused."""
    if not cursor:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, binascii.Error) as error:
        raise InvalidInput("invalid cursor", field="cursor") from error
    if not isinstance(key, dict) or key.get(partition_attribute) != partition_value:
        raise InvalidInput("invalid cursor", field="cursor")
    if not all(isinstance(v, str) for v in key.values()):
        raise InvalidInput("invalid cursor", field="cursor")
    return key


def _decode_listing_cursor(cursor: str | None) -> str | None:
    if not cursor:
        return None
    try:
        return base64.urlsafe_b64decode(cursor.encode()).decode()
    except (ValueError, binascii.Error) as error:
        raise InvalidInput("invalid cursor", field="cursor") from error


def profile_from_item(item: dict[str, Any]) -> Profile:
    return Profile.model_validate({k: v for k, v in _plain(item).items() if k in Profile.model_fields})


def profile_to_item(profile: Profile) -> dict[str, Any]:
    item: dict[str, Any] = {
        **profile_key(profile.org_id, profile.profile_id),
        "type": "profile",
        **profile.model_dump(mode="json", exclude_none=True),
        "attributes": profile.attributes.model_dump(mode="json", exclude_none=True),
        "gsi2pk": org_listing_pk(profile.org_id, profile.profile_id),
        "gsi2sk": f"{profile.created_at}#{profile.profile_id}",
    }
    if profile.user_id:
        item["gsi1pk"] = f"{USER_PREFIX}{profile.user_id}"
        item["gsi1sk"] = f"{PROFILE_BY_USER_PREFIX}{profile.org_id}"
    return item


def _history_keys(user_id: str | None, org_id: str, created_at: str, item_id: str) -> dict[str, str]:
    if not user_id:
        return {}
    sort_key = f"{HISTORY_PREFIX}{created_at}#{item_id}"
    return {
        "gsi1pk": user_history_pk(user_id),
        "gsi1sk": sort_key,
        "gsi2pk": user_history_pk(user_id, org_id),
        "gsi2sk": sort_key,
    }


def order_to_item(order: Order, user_id: str | None) -> dict[str, Any]:
    return {
        "pk": profile_pk(order.org_id, order.profile_id),
        "sk": f"{ORDER_SK_PREFIX}{order.created_at}#{order.order_id}",
        "type": "order",
        **order.model_dump(mode="json"),
        **({"user_id": user_id} if user_id else {}),
        **_history_keys(user_id, order.org_id, order.created_at, order.order_id),
    }


def entitlement_to_item(entitlement: Entitlement, user_id: str | None) -> dict[str, Any]:
    return {
        "pk": profile_pk(entitlement.org_id, entitlement.profile_id),
        "sk": f"{ENTITLEMENT_SK_PREFIX}{entitlement.entitlement_id}",
        "type": "entitlement",
        **entitlement.model_dump(mode="json"),
        **({"user_id": user_id} if user_id else {}),
        **_history_keys(user_id, entitlement.org_id, entitlement.created_at, entitlement.entitlement_id),
    }


def order_from_item(item: dict[str, Any]) -> Order:
    return Order.model_validate({k: v for k, v in _plain(item).items() if k in Order.model_fields})


def entitlement_from_item(item: dict[str, Any]) -> Entitlement:
    return Entitlement.model_validate({k: v for k, v in _plain(item).items() if k in Entitlement.model_fields})


def _identifiers_of(user: User) -> list[Identifier]:
    found: list[Identifier] = []
    if user.email:
        found.append(("email", user.email))
    if user.phone:
        found.append(("phone", user.phone))
    return found


def link_task_key(from_user_id: str) -> Key:
    return {"pk": f"{LINK_TASK_PREFIX}{from_user_id}", "sk": LINK_TASK_SK}


def link_task_item(from_user_id: str, to_user_id: str, now: str) -> dict[str, Any]:
    # gsi2 lists pending tasks for the re-drive; tasks are as rare as merges, so one key holds them.
    return {
        **link_task_key(from_user_id),
        "type": "link_task",
        "from_user_id": from_user_id,
        "to_user_id": to_user_id,
        "created_at": now,
        "gsi2pk": PENDING_LINK_TASKS,
        "gsi2sk": f"{now}#{from_user_id}",
    }


def partner_key(partner_id: str) -> Key:
    return {"pk": f"{PARTNER_PREFIX}{partner_id}", "sk": PARTNER_SK}


def webhook_key(partner_id: str, webhook_id: str) -> Key:
    return {"pk": f"{PARTNER_PREFIX}{partner_id}#WEBHOOK#{webhook_id}", "sk": WEBHOOK_SK}


def claim_key(token_hash: str) -> Key:
    return {"pk": f"{CLAIM_PREFIX}{token_hash}", "sk": CLAIM_SK}


def is_claim_item(item: dict[str, Any]) -> bool:
    return item.get("type") == "claim" and item.get("sk") == CLAIM_SK


def claim_from_item(item: dict[str, Any]) -> Claim:
    return Claim.model_validate({k: v for k, v in _plain(item).items() if k in Claim.model_fields})


def is_profile_item(item: dict[str, Any]) -> bool:
    return item.get("type") == "profile" and item.get("sk") == PROFILE_SK


def is_link_task_item(item: dict[str, Any]) -> bool:
    return item.get("type") == "link_task" and item.get("sk") == LINK_TASK_SK


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


@dataclass
class SaleWrite:
    """Everything one sale writes, in one transaction: all of it or none of it."""

    order: Order
    entitlements: list[Entitlement]
    user_id: str | None
    new_user: User | None = None
    claimed_identifiers: list[Identifier] = field(default_factory=list)
    new_profile: Profile | None = None
    new_card: str | None = None  # a card fingerprint to point at the sale's profile


@dataclass
class PartnerOrderWrite:
    """A reseller's order: the sale's writes, its claim, and the webhook id that makes it exactly once."""

    sale: SaleWrite
    partner_id: str
    webhook_id: str
    body_sha256: str
    response: dict[str, Any]
    claim: Claim
    claim_token_hash: str


@dataclass
class RegistrationWrite:
    """A sign-up or sign-in: the user (new, activated or updated) and the dormant users merged into it."""

    subject: str | None  # set when this registration maps the subject for the first time
    previous: User | None  # the stored state `user` replaces (None: a new user)
    user: User
    claimed_identifiers: list[Identifier] = field(default_factory=list)
    merged: list[tuple[User, User]] = field(default_factory=list)  # (dormant as read, merged)


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

    def users_by_ids(self, user_ids: Iterable[str]) -> dict[str, User]:
        keys = [user_key(u) for u in dict.fromkeys(user_ids)]
        if not keys:
            return {}
        response = self._client.batch_get_item(RequestItems={self.table_name: {"Keys": keys, "ConsistentRead": True}})
        return {i["user_id"]: user_from_item(i) for i in response["Responses"].get(self.table_name, [])}

    def write_registration(self, plan: RegistrationWrite) -> None:
        """One transaction, every user write guarded by the state it was read in.

        A merged user's identifiers move to the survivor (so later sales find it), and a link task records
        the profiles still to move: the linker runs it from the stream, `operator relink` re-runs it.
        """
        user = plan.user
        items: list[dict[str, Any]] = []
        if plan.subject:
            items.append(self._put({**subject_key(plan.subject), "type": "subject", "user_id": user.user_id}))
        items.append(self._guarded_user_put(plan.previous, user))
        items += [self._put(self._identifier_item(i, user.user_id, user.updated_at)) for i in plan.claimed_identifiers]
        for before, after in plan.merged:
            items.append(self._guarded_user_put(before, after))
            for identifier in _identifiers_of(before):
                items.append(
                    {
                        "Update": {
                            "TableName": self.table_name,
                            "Key": identifier_key(identifier),
                            "UpdateExpression": "SET user_id = :to",
                            "ConditionExpression": "user_id = :from",
                            "ExpressionAttributeValues": {":to": user.user_id, ":from": before.user_id},
                        }
                    }
                )
            items.append(self._put(link_task_item(before.user_id, user.user_id, user.updated_at)))
        self._transact(items)

    def _guarded_user_put(self, previous: User | None, user: User) -> dict[str, Any]:
        if previous is None:
            return self._put(user_to_item(user))
        return {
            "Put": {
                "TableName": self.table_name,
                "Item": user_to_item(user),
                "ConditionExpression": "version = :expected AND #s = :status",
                "ExpressionAttributeNames": {"#s": "status"},
                "ExpressionAttributeValues": {":expected": previous.version, ":status": previous.status},
            }
        }

    # --- white-label app clients ---------------------------------------------------------------
    def org_of_app_client(self, client_id: str) -> str | None:
        item = self._table.get_item(Key=app_client_key(client_id)).get("Item")
        return item["org_id"] if item else None

    def register_app_client(self, client_id: str, org_id: str, now: str) -> None:
        """Idempotent for the same org; a client id already owned by another org is a Conflict."""
        try:
            self._table.put_item(
                Item={
                    **app_client_key(client_id),
                    "type": "app_client",
                    "client_id": client_id,
                    "org_id": org_id,
                    "created_at": now,
                },
                ConditionExpression="attribute_not_exists(pk) OR org_id = :org",
                ExpressionAttributeValues={":org": org_id},
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise Conflict(f"app client {client_id} belongs to another org") from error
            raise

    # --- profiles -------------------------------------------------------------------------------
    def profile_id_of_user_in_org(self, user_id: str, org_id: str) -> str | None:
        item = self._table.get_item(Key=user_org_key(user_id, org_id), ConsistentRead=True).get("Item")
        return item["profile_id"] if item else None

    def get_profile(self, org_id: str, profile_id: str) -> Profile | None:
        item = self._table.get_item(Key=profile_key(org_id, profile_id), ConsistentRead=True).get("Item")
        return profile_from_item(item) if item else None

    def create_user_profile(self, profile: Profile) -> None:
        """The profile and its user-in-org uniqueness item: a second profile for the pair is a Conflict."""
        self._transact([self._put(self._user_org_item(profile)), self._put(profile_to_item(profile))])

    @staticmethod
    def _user_org_item(profile: Profile) -> dict[str, Any]:
        assert profile.user_id
        return {
            **user_org_key(profile.user_id, profile.org_id),
            "type": "user_org",
            "profile_id": profile.profile_id,
            "created_at": profile.created_at,
        }

    # --- org configuration, cards -----------------------------------------------------------------
    def org_default_region(self, org_id: str) -> str | None:
        item = self._table.get_item(Key=org_config_key(org_id)).get("Item")
        return item.get("default_region") if item else None

    def configure_org(self, org_id: str, *, default_region: str, now: str) -> None:
        self._table.put_item(
            Item={
                **org_config_key(org_id),
                "type": "org_config",
                "org_id": org_id,
                "default_region": default_region,
                "updated_at": now,
            }
        )

    def profile_id_of_card(self, org_id: str, fingerprint: str) -> str | None:
        item = self._table.get_item(Key=card_key(org_id, fingerprint), ConsistentRead=True).get("Item")
        return item["profile_id"] if item else None

    # --- the org's view ---------------------------------------------------------------------------
    def profile_with_children(
        self, org_id: str, profile_id: str
    ) -> tuple[Profile, list[Order], list[Entitlement]] | None:
        """A profile with its orders and entitlements: one Query on the profile's partition (paged)."""
        items = self._profile_partition(org_id, profile_id)
        profile = next((profile_from_item(i) for i in items if i["sk"] == PROFILE_SK), None)
        if profile is None:
            return None
        orders = [order_from_item(i) for i in items if i["type"] == "order"]
        entitlements = [entitlement_from_item(i) for i in items if i["type"] == "entitlement"]
        return profile, sorted(orders, key=lambda o: o.created_at, reverse=True), entitlements

    def users_status(self, user_ids: Iterable[str]) -> dict[str, str]:
        keys = [user_key(u) for u in dict.fromkeys(user_ids)]
        found: dict[str, str] = {}
        for start in range(0, len(keys), 100):
            response = self._client.batch_get_item(
                RequestItems={
                    self.table_name: {
                        "Keys": keys[start : start + 100],
                        "ProjectionExpression": "user_id, #s",
                        "ExpressionAttributeNames": {"#s": "status"},
                    }
                }
            )
            for item in response["Responses"].get(self.table_name, []):
                found[item["user_id"]] = item["status"]
        return found

    def profiles_by_ids(self, org_id: str, profile_ids: Sequence[str]) -> list[Profile]:
        if not profile_ids:
            return []
        keys = [profile_key(org_id, p) for p in dict.fromkeys(profile_ids)]
        response = self._client.batch_get_item(RequestItems={self.table_name: {"Keys": keys}})
        by_id = {i["profile_id"]: profile_from_item(i) for i in response["Responses"].get(self.table_name, [])}
        return [by_id[p] for p in dict.fromkeys(profile_ids) if p in by_id]

    def search_profile_ids(
        self, org_id: str, by: str, value: str, *, limit: int, cursor: str | None
    ) -> tuple[list[str], str | None]:
        """Profile ids matching an email, a phone (exact) or a name prefix, via the search items on gsi2."""
        normalised = search_name(value) if by == "name" else value
        pk = org_search_pk(org_id, by, normalised)
        condition: Any = KeyCondition("gsi2pk").eq(pk)
        if by == "name":
            condition = condition & KeyCondition("gsi2sk").begins_with(normalised)
        arguments: dict[str, Any] = {"IndexName": BY_ORG_INDEX, "KeyConditionExpression": condition, "Limit": limit}
        start = decode_cursor(cursor, partition_attribute="gsi2pk", partition_value=pk)
        if start:
            arguments["ExclusiveStartKey"] = start
        response = self._table.query(**arguments)
        ids = list(dict.fromkeys(i["profile_id"] for i in response["Items"]))
        return ids, encode_cursor(response.get("LastEvaluatedKey"))

    def list_org_profiles(self, org_id: str, *, limit: int, cursor: str | None) -> tuple[list[Profile], str | None]:
        """Newest first across the listing shards: each shard read below the cursor, then merged."""
        before = _decode_listing_cursor(cursor)
        merged: list[dict[str, Any]] = []
        for shard in range(ORG_LISTING_SHARDS):
            condition: Any = KeyCondition("gsi2pk").eq(f"ORG#{org_id}#PROFILES#{shard}")
            if before:
                condition = condition & KeyCondition("gsi2sk").lt(before)
            merged += self._table.query(
                IndexName=BY_ORG_INDEX, KeyConditionExpression=condition, ScanIndexForward=False, Limit=limit
            )["Items"]
        merged.sort(key=lambda i: i["gsi2sk"], reverse=True)
        page = merged[:limit]
        next_cursor = base64.urlsafe_b64encode(page[-1]["gsi2sk"].encode()).decode() if len(merged) > limit else None
        return [profile_from_item(i) for i in page], next_cursor

    def get_entitlement(self, org_id: str, profile_id: str, entitlement_id: str) -> Entitlement | None:
        item = self._table.get_item(Key=entitlement_key(org_id, profile_id, entitlement_id)).get("Item")
        return entitlement_from_item(item) if item else None

    def set_entitlement_status(
        self, org_id: str, profile_id: str, entitlement_id: str, *, to: EntitlementStatus, allowed_from: Sequence[str]
    ) -> Entitlement:
        """A state-guarded transition; raises Conflict when the entitlement is not in an allowed state."""
        values = {f":from{i}": state for i, state in enumerate(allowed_from)}
        try:
            response = self._table.update_item(
                Key=entitlement_key(org_id, profile_id, entitlement_id),
                UpdateExpression="SET #s = :to",
                ConditionExpression=f"attribute_exists(pk) AND #s IN ({', '.join(values)})",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={":to": to, **values},
                ReturnValues="ALL_NEW",
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise Conflict(f"the entitlement cannot become {to} from its current state") from error
            raise
        return entitlement_from_item(response["Attributes"])

    def attach_profile_to_user(
        self, profile: Profile, updated: Profile, new_user: User | None, claimed: Sequence[Identifier]
    ) -> None:
        """An orphan profile becomes a user's: guarded by version, and by one profile per user per org.

        Its orders and entitlements gain the user's history keys afterwards, from the stream (the linker).
        """
        assert updated.user_id
        items: list[dict[str, Any]] = [
            self._profile_put_at_version(profile.version, updated, "attribute_not_exists(user_id)"),
            self._put(self._user_org_item(updated)),
        ]
        existing = {item["sk"] for item in search_items(profile)}
        items += [
            {"Put": {"TableName": self.table_name, "Item": item}}
            for item in search_items(updated)
            if item["sk"] not in existing
        ]
        if new_user:
            items.append(self._put(user_to_item(new_user)))
        items += [self._put(self._identifier_item(i, updated.user_id, updated.updated_at)) for i in claimed]
        self._transact(items)

    def replace_profile(self, current: Profile, updated: Profile) -> None:
        """Write `updated` only if the stored profile is still at `current.version`."""
        try:
            self._table.put_item(
                Item=profile_to_item(updated),
                ConditionExpression="version = :expected",
                ExpressionAttributeValues={":expected": current.version},
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise Conflict("the profile changed since it was read; read it again") from error
            raise

    def profiles_of_user(self, user_id: str, *, limit: int, cursor: str | None) -> tuple[list[Profile], str | None]:
        pk = f"{USER_PREFIX}{user_id}"
        return self._query_page(
            BY_USER_INDEX,
            "gsi1pk",
            pk,
            "gsi1sk",
            PROFILE_BY_USER_PREFIX,
            limit=limit,
            cursor=cursor,
            forward=True,
            parse=profile_from_item,
        )

    # --- orders, entitlements, history ------------------------------------------------------------
    def create_order(self, order: Order, entitlements: Sequence[Entitlement], user_id: str | None) -> None:
        """The order and its entitlements in one transaction, under a profile that still belongs to the user."""
        self._transact(self._order_items(order, entitlements, user_id, check_profile=True))

    def _order_items(
        self, order: Order, entitlements: Sequence[Entitlement], user_id: str | None, *, check_profile: bool
    ) -> list[dict[str, Any]]:
        items = [self._put(order_to_item(order, user_id))]
        items += [self._put(entitlement_to_item(e, user_id)) for e in entitlements]
        if check_profile:
            items.append(
                {
                    "ConditionCheck": {
                        "TableName": self.table_name,
                        "Key": profile_key(order.org_id, order.profile_id),
                        "ConditionExpression": "attribute_exists(pk) AND attribute_not_exists(merged_into)"
                        + (" AND user_id = :user" if user_id else " AND attribute_not_exists(user_id)"),
                        **({"ExpressionAttributeValues": {":user": user_id}} if user_id else {}),
                    }
                }
            )
        return items

    def write_sale(self, sale: SaleWrite) -> None:
        self._transact(self._sale_items(sale))

    def _sale_items(self, sale: SaleWrite) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        now = sale.order.created_at
        if sale.new_user:
            items.append(self._put(user_to_item(sale.new_user)))
        items += [self._put(self._identifier_item(i, sale.user_id or "", now)) for i in sale.claimed_identifiers]
        if sale.new_profile:
            profile = sale.new_profile
            if profile.user_id:
                items.append(self._put(self._user_org_item(profile)))
            items.append(self._put(profile_to_item(profile)))
            items += [self._put(item) for item in search_items(profile)]
        if sale.new_card:
            items.append(
                self._put(
                    {
                        **card_key(sale.order.org_id, sale.new_card),
                        "type": "card",
                        "profile_id": sale.order.profile_id,
                        "created_at": now,
                    }
                )
            )
        items += self._order_items(sale.order, sale.entitlements, sale.user_id, check_profile=sale.new_profile is None)
        return items

    def history_of_user(
        self, user_id: str, *, org_id: str | None, limit: int, cursor: str | None
    ) -> tuple[list[Order | Entitlement], str | None]:
        index, attribute = (BY_ORG_INDEX, "gsi2") if org_id else (BY_USER_INDEX, "gsi1")
        return self._query_page(
            index,
            f"{attribute}pk",
            user_history_pk(user_id, org_id),
            f"{attribute}sk",
            HISTORY_PREFIX,
            limit=limit,
            cursor=cursor,
            forward=False,
            parse=lambda item: order_from_item(item) if item["type"] == "order" else entitlement_from_item(item),
        )

    def _query_page(
        self,
        index: str,
        pk_attribute: str,
        pk_value: str,
        sk_attribute: str,
        sk_prefix: str,
        *,
        limit: int,
        cursor: str | None,
        forward: bool,
        parse: Any,
    ) -> tuple[list[Any], str | None]:
        arguments: dict[str, Any] = {
            "IndexName": index,
            "KeyConditionExpression": KeyCondition(pk_attribute).eq(pk_value)
            & KeyCondition(sk_attribute).begins_with(sk_prefix),
            "ScanIndexForward": forward,
            "Limit": limit,
        }
        start = decode_cursor(cursor, partition_attribute=pk_attribute, partition_value=pk_value)
        if start:
            arguments["ExclusiveStartKey"] = start
        response = self._table.query(**arguments)
        return [parse(item) for item in response["Items"]], encode_cursor(response.get("LastEvaluatedKey"))

    # --- partners, webhooks, claims -----------------------------------------------------------------
    def get_partner(self, partner_id: str) -> Partner | None:
        item = self._table.get_item(Key=partner_key(partner_id)).get("Item")
        return Partner.model_validate({k: v for k, v in item.items() if k in Partner.model_fields}) if item else None

    def put_partner(self, partner: Partner, now: str) -> None:
        self._table.put_item(
            Item={**partner_key(partner.partner_id), "type": "partner", **partner.model_dump(), "updated_at": now}
        )

    def delivered_webhook(self, partner_id: str, webhook_id: str) -> dict[str, Any] | None:
        """What an earlier delivery of this webhook id recorded: its body's hash and our answer."""
        item = self._table.get_item(Key=webhook_key(partner_id, webhook_id), ConsistentRead=True).get("Item")
        return _plain(item) if item else None

    def write_partner_order(self, write: PartnerOrderWrite) -> None:
        """The sale, the claim (its stream record is the notification's outbox) and the webhook id, at once."""
        sale = write.sale
        items = self._sale_items(sale)
        items.append(
            self._put(
                {
                    **webhook_key(write.partner_id, write.webhook_id),
                    "type": "webhook_delivery",
                    "body_sha256": write.body_sha256,
                    "response": write.response,
                    "created_at": sale.order.created_at,
                }
            )
        )
        items.append(
            self._put(
                {**claim_key(write.claim_token_hash), "type": "claim", **write.claim.model_dump(exclude_none=True)}
            )
        )
        self._transact(items)

    def get_claim(self, token_hash: str) -> Claim | None:
        item = self._table.get_item(Key=claim_key(token_hash), ConsistentRead=True).get("Item")
        return claim_from_item(item) if item else None

    def use_claim(
        self,
        token_hash: str,
        claim: Claim,
        now: str,
        *,
        source: Profile,
        target: Profile,
        entitlements: Sequence[Entitlement],
    ) -> list[Entitlement]:
        """Mark the claim used (only while open and unexpired) and activate its entitlements under `target`.

        Under the same profile they change state in place; under another they move (Put + Delete), each
        guarded by still being pending_claim. All in one transaction.
        """
        assert target.user_id
        items: list[dict[str, Any]] = [
            {
                "Update": {
                    "TableName": self.table_name,
                    "Key": claim_key(token_hash),
                    "UpdateExpression": "SET #s = :used, used_at = :now, used_by_profile_id = :target",
                    "ConditionExpression": "#s = :open AND expires_at > :now",
                    "ExpressionAttributeNames": {"#s": "status"},
                    "ExpressionAttributeValues": {
                        ":used": "used",
                        ":open": "open",
                        ":now": now,
                        ":target": target.profile_id,
                    },
                }
            }
        ]
        activated: list[Entitlement] = []
        for entitlement in entitlements:
            pending = {":pending": "pending_claim"}
            if source.profile_id == target.profile_id:
                items.append(
                    {
                        "Update": {
                            "TableName": self.table_name,
                            "Key": entitlement_key(
                                entitlement.org_id, entitlement.profile_id, entitlement.entitlement_id
                            ),
                            "UpdateExpression": "SET #s = :active",
                            "ConditionExpression": "#s = :pending",
                            "ExpressionAttributeNames": {"#s": "status"},
                            "ExpressionAttributeValues": {":active": "active", **pending},
                        }
                    }
                )
                activated.append(entitlement.model_copy(update={"status": "active"}))
                continue
            moved = entitlement.model_copy(update={"status": "active", "profile_id": target.profile_id})
            items.append(self._put(entitlement_to_item(moved, target.user_id)))
            items.append(
                {
                    "Delete": {
                        "TableName": self.table_name,
                        "Key": entitlement_key(entitlement.org_id, entitlement.profile_id, entitlement.entitlement_id),
                        "ConditionExpression": "#s = :pending",
                        "ExpressionAttributeNames": {"#s": "status"},
                        "ExpressionAttributeValues": pending,
                    }
                }
            )
            activated.append(moved)
        self._transact(items)
        return activated

    # --- linking (the stream's work) -------------------------------------------------------------
    def all_profiles_of_user(self, user_id: str) -> list[Profile]:
        profiles: list[Profile] = []
        cursor = None
        while True:
            page, cursor = self.profiles_of_user(user_id, limit=100, cursor=cursor)
            profiles += page
            if not cursor:
                return profiles

    def _profile_partition(self, org_id: str, profile_id: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        arguments: dict[str, Any] = {
            "KeyConditionExpression": KeyCondition("pk").eq(profile_pk(org_id, profile_id)),
            "ConsistentRead": True,
        }
        while True:
            response = self._table.query(**arguments)
            items += response["Items"]
            if "LastEvaluatedKey" not in response:
                return items
            arguments["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def _children(self, org_id: str, profile_id: str) -> list[dict[str, Any]]:
        return [i for i in self._profile_partition(org_id, profile_id) if i["type"] in ("order", "entitlement")]

    def move_profile_to_user(self, profile: Profile, to_user_id: str, now: str) -> Profile:
        """Re-parent a profile (guarded: still the old user's, not merged) and claim the user-in-org slot."""
        moved = profile.model_copy(update={"user_id": to_user_id, "updated_at": now, "version": profile.version + 1})
        self._transact(
            [
                self._profile_put_at_version(profile.version, moved, "attribute_not_exists(merged_into)"),
                self._put(self._user_org_item(moved)),
            ]
        )
        return moved

    def _profile_put_at_version(self, expected_version: int, profile: Profile, also: str) -> dict[str, Any]:
        """A transaction Put of the profile, only over the version it was read at (and `also`)."""
        return {
            "Put": {
                "TableName": self.table_name,
                "Item": profile_to_item(profile),
                "ConditionExpression": f"version = :expected AND {also}",
                "ExpressionAttributeValues": {":expected": expected_version},
            }
        }

    def rekey_children(self, org_id: str, profile_id: str, user_id: str) -> int:
        """Give the profile's orders and entitlements the user's history keys; returns how many changed.

        Each update is guarded by the child not having that user yet, so a redelivery changes nothing.
        """
        changed = 0
        for item in self._children(org_id, profile_id):
            if item.get("user_id") == user_id:
                continue
            keys = _history_keys(
                user_id,
                org_id,
                item["created_at"],
                str(item["order_id"] if item["type"] == "order" else item["entitlement_id"]),
            )
            try:
                self._table.update_item(
                    Key={"pk": item["pk"], "sk": item["sk"]},
                    UpdateExpression="SET user_id = :u, gsi1pk = :g1p, gsi1sk = :g1s, gsi2pk = :g2p, gsi2sk = :g2s",
                    ConditionExpression="attribute_exists(pk) AND (attribute_not_exists(user_id) OR user_id <> :u)",
                    ExpressionAttributeValues={
                        ":u": user_id,
                        ":g1p": keys["gsi1pk"],
                        ":g1s": keys["gsi1sk"],
                        ":g2p": keys["gsi2pk"],
                        ":g2s": keys["gsi2sk"],
                    },
                )
                changed += 1
            except ClientError as error:
                if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                    raise
        return changed

    def merge_profile_into(self, source: Profile, target: Profile, now: str, *, chunk: int = 25) -> int:
        """Move every order and entitlement of `source` under `target`, then mark `source` merged.

        Each child moves by Put (under the target) + Delete (from the source) in one transaction, so it
        always has exactly one parent; a redelivery finds nothing left to move.
        """
        assert target.user_id
        children = self._children(source.org_id, source.profile_id)
        for start in range(0, len(children), chunk):
            items: list[dict[str, Any]] = []
            for child in children[start : start + chunk]:
                if child["type"] == "order":
                    moved: dict[str, Any] = order_to_item(
                        order_from_item(child).model_copy(update={"profile_id": target.profile_id}), target.user_id
                    )
                else:
                    moved = entitlement_to_item(
                        entitlement_from_item(child).model_copy(update={"profile_id": target.profile_id}),
                        target.user_id,
                    )
                items.append(self._put(moved))
                items.append(
                    {
                        "Delete": {
                            "TableName": self.table_name,
                            "Key": {"pk": child["pk"], "sk": child["sk"]},
                            "ConditionExpression": "attribute_exists(pk)",
                        }
                    }
                )
            self._transact(items)
        try:
            self._table.update_item(
                Key=profile_key(source.org_id, source.profile_id),
                UpdateExpression="SET merged_into = :into, updated_at = :now, version = version + :one "
                "REMOVE gsi2pk, gsi2sk",
                ConditionExpression="attribute_exists(pk) AND attribute_not_exists(merged_into)",
                ExpressionAttributeValues={":into": target.profile_id, ":now": now, ":one": 1},
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
        return len(children)

    def pending_link_tasks(self, limit: int = 100) -> list[tuple[str, str]]:
        response = self._table.query(
            IndexName=BY_ORG_INDEX, KeyConditionExpression=KeyCondition("gsi2pk").eq(PENDING_LINK_TASKS), Limit=limit
        )
        return [(i["from_user_id"], i["to_user_id"]) for i in response["Items"]]

    def complete_link_task(self, from_user_id: str) -> None:
        self._table.delete_item(Key=link_task_key(from_user_id))

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
