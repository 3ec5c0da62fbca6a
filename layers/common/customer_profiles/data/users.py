"""The user aggregate: users, the subject mapping, identifiers (each held by at most one user), the
org settings and white-label app clients that registration reads."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Any

from customer_profiles.data import keys
from customer_profiles.data.codec import (
    Item,
    held_identifier_to_item,
    holding_from_item,
    identifier_to_item,
    user_from_item,
    user_to_item,
)
from customer_profiles.data.pending import add_pending
from customer_profiles.data.table import KeyCondition, Records
from customer_profiles.data.tx import TransactionCancelled, Tx
from customer_profiles.errors import StateConflict
from customer_profiles.models.domain import Holding, Identifier, PendingEffect, Proof, User
from customer_profiles.ports.effects import publish_effect
from customer_profiles.ports.identity import RegistrationWrite


def add_user(tx: Tx, previous: User | None, user: User) -> None:
    """A new user, or a user over the version and status it was read in."""
    if previous is None:
        tx.put_if_new(user_to_item(user))
    else:
        tx.put_at_version(user_to_item(user), previous.version, "#status = :status", status=previous.status)


def add_merged_user(tx: Tx, user_id: str, merged: User) -> None:
    """`merged` (a dormant holder) folded into `user_id`: the person's lineage, which their erasure follows."""
    item = {
        **keys.merged_user_key(user_id, merged.user_id),
        "type": "merged_user",
        "merged_user_id": merged.user_id,
        "merged_at": merged.updated_at,
    }
    tx.put(item)


def add_identifiers(tx: Tx, identifiers: Sequence[Identifier], user_id: str, proof: Proof) -> None:
    """Identifiers nobody holds yet, now held by `user_id`, known by `proof` (the identifier item, which says
    who holds it, and its copy in the holder's partition, which lists what a user holds)."""
    for identifier in identifiers:
        tx.put_if_new(identifier_to_item(identifier, user_id, proof))
        tx.put(held_identifier_to_item(identifier, user_id, proof))


def take_over_identifier(tx: Tx, identifier: Identifier, holder: str, user_id: str, proof: Proof) -> None:
    """`user_id` proved an identifier that `holder` (a dormant user) held as a hint."""
    tx.put(identifier_to_item(identifier, user_id, proof), "user_id = :holder", holder=holder)
    if holder != user_id:  # a dormant holder activated keeps its id: its copy is rewritten in place
        tx.delete(keys.held_identifier_key(holder, identifier))
    tx.put(held_identifier_to_item(identifier, user_id, proof))


def release_identifier(tx: Tx, identifier: Identifier, holder: str) -> None:
    """Nobody holds `identifier` any more (if `holder` still did): a later sale typed with it finds no one."""
    tx.delete(keys.identifier_key(identifier), "attribute_not_exists(pk) OR user_id = :holder", holder=holder)
    tx.delete(keys.held_identifier_key(holder, identifier))


def check_active(tx: Tx, user_id: str, failing: Exception | None = None) -> None:
    """The user is still active when the write commits (not being erased, merged or gone): `failing` is what
    the caller is told when it is not (else the transaction's conflict, read again)."""
    tx.check(keys.user_key(user_id), "#status = :active", failing=failing, active="active")


def check_holder(
    tx: Tx, user_id: str, status: str | None, *, gains_profile: bool = False, failing: Exception | None = None
) -> None:
    """The holder a sale was planned for is still so when the write commits: in the status read, else active
    or dormant (neither merged, whose profiles would strand, nor erasing). A dormant holder gaining a profile
    changes version: an org erasure that read it with no profile left (to release its identifier) then fails
    its write and reads again."""
    holder = keys.user_key(user_id)
    if status == "dormant" and gains_profile:
        condition = "attribute_exists(pk) AND #status = :status"
        tx.update(holder, "SET #version = #version + :one", condition, one=1, status=status)
    elif status:
        tx.check(holder, "attribute_exists(pk) AND #status = :status", failing=failing, status=status)
    else:
        condition = "#status IN (:active, :dormant)"
        tx.check(holder, condition, failing=failing, active="active", dormant="dormant")


def check_holding(tx: Tx, identifier: Identifier, holding: Holding | None) -> None:
    """The identifier is still held as it was read (by nobody, or by the same user): a decision taken on who
    held it stands only if that is still so when the write commits."""
    if holding is None:
        tx.check(keys.identifier_key(identifier), "attribute_not_exists(pk)")
    else:
        condition = "user_id = :holder AND provenance = :provenance"
        tx.check(keys.identifier_key(identifier), condition, holder=holding.user_id, provenance=holding.provenance)


def bring_sales_effect(identifier: Identifier, user_id: str, proven_at: str) -> PendingEffect:
    """`user_id` proved `identifier` at `proven_at`: every sale typed with it that no earlier proof reached
    comes to them (domain/identity/proofs.py). The effect id names the identifier by a hash only."""
    kind, value = identifier
    digest = hashlib.sha256(f"{kind}#{value}".encode()).hexdigest()[:32]
    cause = {"kind": kind, "value": value, "user_id": user_id, "proven_at": proven_at}
    return PendingEffect(
        kind="bring_sales", effect_id=f"{user_id}#{digest}#{proven_at}", cause=cause, created_at=proven_at
    )


def holders_of(items: Iterable[Item]) -> dict[Identifier, Holding]:
    """Identifier items read, as who holds each identifier and how it is known."""
    return {(item["kind"], item["value"]): holding_from_item(item) for item in items}


class UserRecords(Records):
    def get_user(self, user_id: str) -> User | None:
        item = self.db.get(keys.user_key(user_id))
        return user_from_item(item) if item else None

    def user_id_for_subject(self, subject: str) -> str | None:
        item = self.db.get(keys.subject_key(subject))
        return item["user_id"] if item else None

    def identifier_holders(self, identifiers: Sequence[Identifier]) -> dict[Identifier, Holding]:
        """Who holds each identifier and how it is known (absent when nobody holds it)."""
        return holders_of(self.db.batch_get([keys.identifier_key(i) for i in identifiers]))

    def users_by_ids(self, user_ids: Iterable[str]) -> dict[str, User]:
        found = self.db.batch_get([keys.user_key(u) for u in user_ids])
        return {item["user_id"]: user_from_item(item) for item in found}

    def users_status(self, user_ids: Iterable[str]) -> dict[str, str]:
        found = self.db.batch_get(
            [keys.user_key(u) for u in user_ids], consistent=False, projection="#user_id, #status"
        )
        return {item["user_id"]: item["status"] for item in found}

    def write_registration(self, plan: RegistrationWrite) -> None:
        """One transaction, every user and identifier write guarded by the state it was read in.

        Verified identifiers become the person's (taken over from the dormant users that held them as
        hints); the dormant users' other hints are released for their owners to claim; each merged user
        gets a link task for the profiles still to move (the linker runs it, `operator relink` re-runs it).
        """
        user = plan.user
        now = user.updated_at
        verified = Proof(provenance="verified", at=now)
        tx = self.db.tx()
        if plan.subject:
            tx.put_if_new({**keys.subject_key(plan.subject), "type": "subject", "user_id": user.user_id})
        add_user(tx, plan.previous, user)
        add_identifiers(tx, plan.claimed_identifiers, user.user_id, verified)
        for identifier, holder in plan.taken_over:
            take_over_identifier(tx, identifier, holder, user.user_id, verified)
        for identifier, holder in plan.released:
            release_identifier(tx, identifier, holder)
        for identifier in plan.proven:
            add_pending(tx, bring_sales_effect(identifier, user.user_id, now))
        for before, after in plan.merged:
            add_user(tx, before, after)
            add_merged_user(tx, user.user_id, after)
            cause = {"from_user_id": before.user_id, "to_user_id": user.user_id}
            add_pending(tx, PendingEffect(kind="link_user", effect_id=before.user_id, cause=cause, created_at=now))
        if plan.previous is None:
            detail = {"user_id": user.user_id, "created_at": user.created_at}
            add_pending(tx, publish_effect("UserRegistered", detail, f"registered#{user.user_id}", now))
        elif plan.previous.status == "dormant":
            cause = {"user_id": user.user_id}
            effect_id = f"{user.user_id}#{user.version}"
            add_pending(tx, PendingEffect(kind="announce_activation", effect_id=effect_id, cause=cause, created_at=now))
        tx.execute(self.db.client)

    def identifiers_held_by(self, user_id: str) -> list[tuple[Identifier, Proof]]:
        """Every identifier the user holds, with how it is known (strongly consistent, every page), whatever
        the user item shows."""
        condition = KeyCondition("pk").eq(keys.user_key(user_id)["pk"]) & KeyCondition("sk").begins_with(
            keys.HELD_IDENTIFIER_PREFIX
        )
        items = self.db.query_all(KeyConditionExpression=condition, ConsistentRead=True)
        return [
            (
                (item["kind"], item["value"]),
                Proof.model_validate({k: v for k, v in item.items() if k in Proof.model_fields}),
            )
            for item in items
        ]

    def release_identifiers(self, previous: User, user: User, identifiers: Sequence[Identifier]) -> None:
        """The user no longer holds `identifiers` (the user item, which may show one of them, over the version
        it was read at)."""
        tx = self.db.tx()
        add_user(tx, previous, user)
        for identifier in identifiers:
            release_identifier(tx, identifier, user.user_id)
        tx.execute(self.db.client)

    def identifier_proofs(self, identifiers: Sequence[Identifier]) -> list[dict[str, Any]]:
        """How each identifier is known (kind, value, provenance, when), strongly consistent."""
        found = self.db.batch_get([keys.identifier_key(i) for i in identifiers]) if identifiers else []
        return [{name: item.get(name) for name in ("kind", "value", "provenance", "at")} for item in found]

    # --- white-label app clients and org settings -------------------------------------------------
    def org_of_app_client(self, client_id: str) -> str | None:
        item = self.db.get(keys.app_client_key(client_id), consistent=False)
        return item["org_id"] if item else None

    def register_app_client(self, client_id: str, org_id: str, now: str) -> None:
        """Idempotent for the same org; a client id already owned by another org is a StateConflict."""
        item = {**keys.app_client_key(client_id), "type": "app_client", "client_id": client_id, "org_id": org_id}
        tx = self.db.tx().put({**item, "created_at": now}, "attribute_not_exists(pk) OR org_id = :org", org=org_id)
        try:
            tx.execute(self.db.client)
        except TransactionCancelled as error:
            raise StateConflict(f"app client {client_id} belongs to another org") from error

    def org_default_region(self, org_id: str) -> str | None:
        item = self.db.get(keys.org_config_key(org_id), consistent=False)
        return item.get("default_region") if item else None

    def configure_org(self, org_id: str, *, default_region: str, now: str) -> None:
        self.db.table.put_item(
            Item={
                **keys.org_config_key(org_id),
                "type": "org_config",
                "org_id": org_id,
                "default_region": default_region,
                "updated_at": now,
            }
        )
