"""Proof per sale (docs/decisions.md, identity): a sale reaches a person only if they proved an identifier it
was typed with, redeemed its code, accepted its claim, or an admin attached it by an identifier they verified.
Asserted through what each person sees (their history), never through the holders the service keeps."""

import pytest

from customer_profiles.domain.identity import users
from customer_profiles.domain.identity.history import history_of_me
from customer_profiles.domain.sales import orders, pos
from customer_profiles.domain.staff import org_console
from customer_profiles.edge import secrets as secret_store
from customer_profiles.errors import NotFound
from customer_profiles.models.api import AttachIdentifierRequest, OrderRequest, PosSaleRequest
from tests.unit.conftest import staff_principal, user_principal
from tests.unit.test_linking import run_pending_links

LINES = [{"kind": "ticket", "item_id": "ev-1", "quantity": 2, "unit_price": 2500}]
OWNER_EMAIL, ACCOMPLICE_PHONE = "owner@example.com", "+447911123456"


def sell(store, org_id, **customer):
    request = PosSaleRequest.model_validate(
        {"currency": "GBP", "payment_method": "cash", "lines": LINES, "customer": customer}
    )
    return pos.create_pos_sale(
        store,
        staff_principal(f"till-{org_id}", org_id, "pos"),
        org_id,
        request,
        receipt_keys=secret_store.receipt_code_keys,
    )


def person(sub, *, email=None, phone=None):
    return user_principal(
        sub, email=email, email_verified=bool(email), phone_number=phone, phone_number_verified=bool(phone)
    )


def history(store, principal):
    """Every entry the person's history shows (every page)."""
    entries, cursor = [], None
    while True:
        page = history_of_me(store, principal, org_id=None, limit=100, cursor=cursor)
        entries += page.entries
        cursor = page.next_cursor
        if cursor is None:
            return entries


def orders_seen(store, principal):
    return {e.order.order_id for e in history(store, principal) if e.order}


def tickets_seen(store, principal):
    return {e.entitlement.entitlement_id for e in history(store, principal) if e.entitlement}


def theft_setup(store):
    """At org A's window a sale typed with the owner's email and the accomplice's phone; then the owner buys
    twice more, at org A and at org B, typed with the owner's email only."""
    typed_with_both = sell(store, "org-a", email=OWNER_EMAIL, phone=ACCOMPLICE_PHONE)
    at_a = sell(store, "org-a", email=OWNER_EMAIL)
    at_b = sell(store, "org-b", email=OWNER_EMAIL)
    return typed_with_both.order.order_id, at_a.order.order_id, at_b.order.order_id


def test_the_accomplice_signing_up_last_gets_nothing_of_the_owners(store):
    both, at_a, at_b = theft_setup(store)
    owner, accomplice = person("owner", email=OWNER_EMAIL), person("acc", phone=ACCOMPLICE_PHONE)

    users.register_me(store, owner)
    run_pending_links(store)
    users.register_me(store, accomplice)
    run_pending_links(store)

    assert orders_seen(store, owner) == {both, at_a, at_b}
    assert orders_seen(store, accomplice) == set()


def test_the_accomplice_signing_up_first_gets_only_the_sale_typed_with_their_phone(store):
    both, at_a, at_b = theft_setup(store)
    owner, accomplice = person("owner", email=OWNER_EMAIL), person("acc", phone=ACCOMPLICE_PHONE)

    users.register_me(store, accomplice)
    run_pending_links(store)
    users.register_me(store, owner)
    run_pending_links(store)

    # The sale typed with the accomplice's phone is theirs: they proved it first. The owner's own sales stay theirs.
    assert orders_seen(store, accomplice) == {both}
    assert orders_seen(store, owner) == {at_a, at_b}


def test_the_first_proof_wins_even_when_the_linker_runs_after_both_sign_ups(store):
    both, at_a, at_b = theft_setup(store)
    owner, accomplice = person("owner", email=OWNER_EMAIL), person("acc", phone=ACCOMPLICE_PHONE)

    users.register_me(store, accomplice)  # proved first; its effect has not run yet
    users.register_me(store, owner)  # activates the holder of the email at once
    run_pending_links(store)

    assert orders_seen(store, accomplice) == {both}
    assert orders_seen(store, owner) == {at_a, at_b}


def test_a_sale_moves_with_all_its_tickets_and_nothing_else(store):
    both = sell(store, "org-a", email=OWNER_EMAIL, phone=ACCOMPLICE_PHONE)
    sell(store, "org-a", email=OWNER_EMAIL)
    accomplice = person("acc", phone=ACCOMPLICE_PHONE)

    users.register_me(store, accomplice)
    run_pending_links(store)

    assert tickets_seen(store, accomplice) == {e.entitlement_id for e in both.entitlements}


def test_a_sale_typed_with_a_verified_identifier_goes_to_its_person_at_once(store):
    owner = person("owner", email=OWNER_EMAIL)
    users.register_me(store, owner)

    sale = sell(store, "org-a", email=OWNER_EMAIL, phone=ACCOMPLICE_PHONE)
    accomplice = person("acc", phone=ACCOMPLICE_PHONE)
    users.register_me(store, accomplice)
    run_pending_links(store)

    assert sale.profile.linked_account
    assert orders_seen(store, owner) == {sale.order.order_id}
    assert orders_seen(store, accomplice) == set()


def test_a_proof_the_sale_was_placed_after_never_takes_it_from_the_person_it_went_to(store):
    """Both had proved an identifier before the sale; the one typed first got it. The other's proof, whose
    effect the linker runs only after the sale (a delayed or redelivered stream record), finds the sale's
    pointer and leaves the sale where it is."""
    owner, accomplice = person("owner", email=OWNER_EMAIL), person("acc", phone=ACCOMPLICE_PHONE)
    users.register_me(store, owner)
    users.register_me(store, accomplice)  # its effect (bring what is typed with the phone) has not run yet

    sale = sell(store, "org-a", email=OWNER_EMAIL, phone=ACCOMPLICE_PHONE)
    run_pending_links(store)

    assert orders_seen(store, owner) == {sale.order.order_id}
    assert orders_seen(store, accomplice) == set()


def test_identifiers_a_person_verified_stay_listed_until_released(store):
    alice = person("alice", email="a1@example.com")
    users.register_me(store, alice)
    users.register_me(store, later := person("alice", email="a2@example.com"))

    held = {(kind, value) for (kind, value), _ in users.my_identifiers(store, later)}
    assert held == {("email", "a1@example.com"), ("email", "a2@example.com")}

    users.release_my_identifier(store, later, "email", "a1@example.com")
    after = sell(store, "org-a", email="a1@example.com")

    assert {v for (_, v), _ in users.my_identifiers(store, later)} == {"a2@example.com"}
    assert not after.profile.linked_account  # a dormant holder has it: whoever proves the email next
    assert after.order.order_id not in orders_seen(store, later)
    with pytest.raises(NotFound):
        users.release_my_identifier(store, later, "email", "a1@example.com")


def test_erasure_releases_every_identifier_held_so_later_sales_still_sell(store):
    from customer_profiles.domain.privacy import privacy

    users.register_me(store, person("eve", email="e1@example.com"))
    users.register_me(store, eve := person("eve", email="e2@example.com"))  # now shows e2 only

    privacy.erase_me(store, eve)
    run_pending_links(store)
    sale = sell(store, "org-a", email="e1@example.com")

    assert not sale.profile.linked_account
    assert store.identifier_holders([("email", "e1@example.com")])[("email", "e1@example.com")].provenance == (
        "staff_captured"
    )


def test_an_admin_attaches_an_orphan_to_the_person_who_verified_the_identifier(store):
    admin = staff_principal("boss", "org-a", "admin")
    orphan = sell(store, "org-a")
    owner = person("owner", email=OWNER_EMAIL)
    users.register_me(store, owner)

    attached = org_console.attach_identifier(
        store,
        admin,
        "org-a",
        orphan.profile.profile_id,
        AttachIdentifierRequest(version=orphan.profile.version, email=OWNER_EMAIL),
    )
    run_pending_links(store)

    assert attached.linked_account
    assert orders_seen(store, owner) == {orphan.order.order_id}


def test_a_consumer_purchase_is_its_buyers_whatever_is_typed_later(store):
    owner = person("owner", email=OWNER_EMAIL)
    users.register_me(store, owner)
    bought = orders.place_consumer_order(
        store,
        owner,
        "org-a",
        OrderRequest.model_validate({"currency": "GBP", "payment_method": "card", "lines": LINES}),
    )
    sell(store, "org-a", email=OWNER_EMAIL, phone=ACCOMPLICE_PHONE)
    users.register_me(store, person("acc", phone=ACCOMPLICE_PHONE))
    run_pending_links(store)

    assert bought.order.order_id in orders_seen(store, owner)
