"""A sale's one transaction: the order and its entitlements under one profile, with everything the sale writes
across aggregates (a dormant user and its identifiers, the profile, a receipt, consents) and the checks of what
it was decided on; and the reads a sale decides on (the key's earlier answer, the identifiers' holders)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from customer_profiles.data import keys
from customer_profiles.data.codec import entitlement_to_item, order_to_item
from customer_profiles.data.consents import add_consents
from customer_profiles.data.lineage import add_move, placement_move
from customer_profiles.data.profile_items import add_profile_changes, profile_holds
from customer_profiles.data.receipts import add_receipt
from customer_profiles.data.requests import add_answer, answer_read, answered_from
from customer_profiles.data.settings import add_settings_check, settings_or_default
from customer_profiles.data.table import Records
from customer_profiles.data.tx import Tx
from customer_profiles.data.typed_sales import typed_sale_item
from customer_profiles.data.users import add_identifiers, add_user, check_holder, check_holding, holders_of
from customer_profiles.errors import UserGone
from customer_profiles.models.activity import SYSTEM, Actor
from customer_profiles.models.domain import Entitlement, Holding, Identifier, Order, OrgSettings
from customer_profiles.ports.identity import ProfileChange
from customer_profiles.ports.sales import Answered, IdempotentRequest, SaleWrite


def add_order(
    tx: Tx, order: Order, entitlements: Sequence[Entitlement], user_id: str | None, changed_by: Actor = SYSTEM
) -> None:
    tx.put_if_new({**order_to_item(order, user_id), "changed_by": changed_by.stamp()})
    for entitlement in entitlements:
        tx.put_if_new(entitlement_to_item(entitlement, user_id))


def add_sale(tx: Tx, sale: SaleWrite) -> None:
    if sale.new_user:
        add_user(tx, None, sale.new_user)
    elif sale.user_id:  # the holder as planned: not merged (its profiles would strand), not activated meanwhile
        failing = UserGone("the caller's user is not active") if sale.for_the_caller else None
        check_holder(tx, sale.user_id, sale.holder_status, gains_profile=sale.new_profile is not None, failing=failing)
    if sale.claimed_identifiers:
        assert sale.proof and sale.user_id
        add_identifiers(tx, sale.claimed_identifiers, sale.user_id, sale.proof)
    for identifier, holding in sale.holdings.items():
        if identifier not in sale.claimed_identifiers:
            check_holding(tx, identifier, holding)
    for identifier in sale.pointers:
        tx.put(typed_sale_item(identifier, sale.order, [e.entitlement_id for e in sale.entitlements]))
    if sale.new_profile:
        add_profile_changes(tx, [ProfileChange(None, sale.new_profile, changed_by=sale.changed_by)])
    else:
        holds, values = profile_holds(sale.user_id)
        tx.check(keys.profile_key(sale.order.org_id, sale.order.profile_id), holds, **values)
    add_order(tx, sale.order, sale.entitlements, sale.user_id, sale.changed_by)
    if sale.order.typed:  # every identifier it was typed with, kept for a disown (data/lineage.py)
        add_move(tx, placement_move(sale.order, sale.user_id, sale.changed_by))
    if sale.receipt:
        add_receipt(tx, *sale.receipt)
    add_consents(tx, sale.order.org_id, sale.order.profile_id, sale.consents)
    if sale.settings is not None:
        add_settings_check(tx, sale.settings)


class SaleRecords(Records):
    def write_sale(self, sale: SaleWrite, answer: tuple[IdempotentRequest, dict[str, Any]] | None = None) -> None:
        """The sale, and the answer to the request that made it when it came with an Idempotency-Key."""
        tx = self.db.tx()
        add_sale(tx, sale)
        if answer:
            add_answer(
                tx, self.requests_table, *answer, about=keys.profile_pk(sale.order.org_id, sale.order.profile_id)
            )
        tx.execute(self.db.client)

    def answer_and_user_profile(
        self, request: IdempotentRequest, user_id: str, org_id: str
    ) -> tuple[Answered | None, str | None]:
        """A purchase's one read: its earlier answer, if any, and the user's profile id in the org."""
        found = self.db.batch_get_across(
            {
                self.requests_table: answer_read(request),
                self.db.name: {"Keys": [keys.user_org_key(user_id, org_id)], "ConsistentRead": True},
            }
        )
        pointer = found[self.db.name]
        return answered_from(found[self.requests_table]), pointer[0]["profile_id"] if pointer else None

    def answer_and_holders(
        self, request: IdempotentRequest, identifiers: Sequence[Identifier], *, settings_of: str | None = None
    ) -> tuple[Answered | None, dict[Identifier, Holding], OrgSettings | None]:
        """A sale's first read: its earlier answer, if any, who holds each identifier typed, and (`settings_of`
        an org) that org's settings, all strongly consistent in one request."""
        reads = {self.requests_table: answer_read(request)}
        wanted = [keys.identifier_key(i) for i in identifiers]
        if settings_of:
            wanted.append(keys.org_settings_key(settings_of))
        if wanted:
            reads[self.db.name] = {"Keys": wanted, "ConsistentRead": True}
        found = self.db.batch_get_across(reads)
        items = found.get(self.db.name, [])
        settings = None
        if settings_of:
            settings_key = keys.org_settings_key(settings_of)
            stored = next((i for i in items if i["pk"] == settings_key["pk"] and i["sk"] == settings_key["sk"]), None)
            settings = settings_or_default(settings_of, stored)
            items = [i for i in items if i is not stored]
        return answered_from(found[self.requests_table]), holders_of(items), settings

    def create_order(self, order: Order, entitlements: Sequence[Entitlement], user_id: str | None) -> None:
        """The order and its entitlements in one transaction, under a profile that still belongs to the user."""
        self.write_sale(SaleWrite(order=order, entitlements=list(entitlements), user_id=user_id))
