"""Activation of dormant users (PUT /v1/me) and the linker's work, on moto."""

import pytest

from customer_profiles.data.changes import read_change
from customer_profiles.data.codec import pending_to_item
from customer_profiles.domain.effects import effects
from customer_profiles.domain.effects.stream import handle_change
from customer_profiles.domain.identity import history, linking, users
from customer_profiles.domain.sales import orders, pos
from customer_profiles.errors import ConcurrentWrite
from customer_profiles.models.api import OrderRequest, PosSaleRequest
from customer_profiles.models.domain import PendingEffect
from customer_profiles.ports.identity import RegistrationWrite
from tests.unit.conftest import staff_principal, user_principal

LINES = [{"kind": "ticket", "item_id": "ev-1", "quantity": 2, "unit_price": 2500}]


def seller(org_id):
    return staff_principal(f"till-{org_id}", org_id, "pos")


def sell(store, org_id, **customer):
    request = PosSaleRequest.model_validate(
        {"currency": "GBP", "payment_method": "cash", "lines": LINES, "customer": customer}
    )
    return pos.create_pos_sale(store, seller(org_id), org_id, request)


def buy(store, principal, org_id):
    request = OrderRequest.model_validate({"currency": "GBP", "payment_method": "card", "lines": LINES})
    return orders.place_consumer_order(store, principal, org_id, request)


def person(email=None, phone=None, verified=True):
    return user_principal(
        email=email,
        email_verified=verified and bool(email),
        phone_number=phone,
        phone_number_verified=verified and bool(phone),
    )


def holder(store, kind, value):
    holding = store.identifier_holders([(kind, value)]).get((kind, value))
    return holding.user_id if holding else None


def run_pending_links(store):
    """What the linker does from the stream: complete every pending effect; returns what was published."""
    published = []
    result = effects.redrive(store, published.extend)
    assert not result.failed, result.failed
    return published


def entitlement_ids(store, principal):
    page = history.history_of_me(store, principal, org_id=None, limit=100, cursor=None)
    return sorted(e.entitlement.entitlement_id for e in page.entries if e.entitlement)


def test_activation_by_email_makes_the_dormant_user_the_persons_and_their_history_holds_the_sale(store):
    sale = sell(store, "org-a", email="dora@example.com")
    dormant_id = holder(store, "email", "dora@example.com")

    user, created = users.register_me(store, dora := person("dora@example.com"))

    assert created and user.user_id == dormant_id and user.status == "active"
    assert store.get_user(dormant_id).subject == dora.subject
    assert entitlement_ids(store, dora) == sorted(e.entitlement_id for e in sale.entitlements)


def test_activation_by_phone(store):
    sell(store, "org-a", phone="+14155552671")

    user, _ = users.register_me(store, person(phone="+14155552671"))

    assert user.user_id == holder(store, "phone", "+14155552671") and user.status == "active"


def test_an_unverified_identifier_activates_nothing(store):
    sell(store, "org-a", email="hint@example.com")
    dormant_id = holder(store, "email", "hint@example.com")

    user, _ = users.register_me(store, person("hint@example.com", verified=False))

    assert user.user_id != dormant_id
    assert store.get_user(dormant_id).status == "dormant"
    assert holder(store, "email", "hint@example.com") == dormant_id


def test_two_dormant_users_are_merged_and_every_profile_follows(store):
    # Given two dormant users from two sales: one by email at org-a, one by phone at org-b
    by_email = sell(store, "org-a", email="both@example.com")
    by_phone = sell(store, "org-b", phone="+14155552671")
    email_user, phone_user = holder(store, "email", "both@example.com"), holder(store, "phone", "+14155552671")

    # When the person signs up with both verified
    principal = person("both@example.com", "+14155552671")
    user, _ = users.register_me(store, principal)
    events = run_pending_links(store)

    # Then one is activated, the other merged into it, and both sales are in the person's history
    assert user.user_id == email_user
    merged = store.get_user(phone_user)
    assert (merged.status, merged.merged_into) == ("merged", email_user)
    assert holder(store, "phone", "+14155552671") == email_user
    expected = sorted(e.entitlement_id for e in by_email.entitlements + by_phone.entitlements)
    assert entitlement_ids(store, principal) == expected
    assert sorted(p.org_id for p in store.all_profiles_of_user(email_user)) == ["org-a", "org-b"]
    assert store.all_profiles_of_user(phone_user) == []
    # the activation announced, and the merged user's profiles linked
    assert sorted((e.detail_type, bool(e.detail.get("activated"))) for e in events) == [
        ("ProfilesLinked", False),
        ("ProfilesLinked", True),
    ]
    assert store.all_pending() == []


def test_a_profile_in_the_same_org_on_both_sides_is_merged_into_one(store):
    # Given a registered person with a profile at org-a, and a dormant user with another profile at org-a
    principal = person()
    users.register_me(store, principal)
    mine = buy(store, principal, "org-a")
    sold = sell(store, "org-a", email="late@example.com")
    before = len(mine.entitlements) + len(sold.entitlements)

    # When the person later verifies that email
    users.register_me(
        store, principal.__class__(**{**principal.__dict__, "email": "late@example.com", "email_verified": True})
    )
    run_pending_links(store)

    # Then one profile per org remains, holding every entitlement and order, the other marked merged
    user_id = users.current_user_id(store, principal)
    profiles = store.all_profiles_of_user(user_id)
    assert [p.profile_id for p in profiles] == [mine.order.profile_id]
    _, orders_after, entitlements_after = store.profile_with_children("org-a", mine.order.profile_id)
    assert len(entitlements_after) == before
    assert {o.order_id for o in orders_after} == {mine.order.order_id, sold.order.order_id}
    assert {e.profile_id for e in entitlements_after} == {mine.order.profile_id}
    old = store.get_profile("org-a", sold.profile.profile_id)
    assert old.merged_into == mine.order.profile_id
    assert store.profile_with_children("org-a", sold.profile.profile_id)[2] == []
    assert len(entitlement_ids(store, principal)) == before


def test_redelivering_and_replaying_link_work_changes_nothing(store):
    principal = person()
    users.register_me(store, principal)
    buy(store, principal, "org-a")
    sell(store, "org-a", email="twice@example.com")
    sell(store, "org-b", email="twice@example.com")
    users.register_me(
        store, principal.__class__(**{**principal.__dict__, "email": "twice@example.com", "email_verified": True})
    )
    link = next(e for e in store.all_pending() if e.kind == "link_user")
    published = []
    effects.complete(store, link, published.extend)
    rekeys = [e for e in store.all_pending() if e.kind == "rekey_profile"]
    for rekey in rekeys:  # the histories the moves left pending, done once
        assert effects.complete(store, rekey, published.extend)
    snapshot = entitlement_ids(store, principal)
    # a redelivery of the link's record, the link run again, and every re-key replayed twice
    assert effects.complete(store, link, published.extend) is False
    assert linking.link_merged_user(store, link.cause["from_user_id"], link.cause["to_user_id"]) == []
    for rekey in rekeys * 2:
        effects.perform(store, rekey)
        handle_change(store, read_change("INSERT", None, pending_to_item(rekey)), published.extend)

    assert entitlement_ids(store, principal) == snapshot
    assert len(snapshot) == 6
    assert [e.detail_type for e in published] == ["ProfilesLinked"]  # once, for the one link


def test_sales_after_a_merge_land_on_the_surviving_user(store):
    sell(store, "org-a", email="m1@example.com")
    sell(store, "org-b", phone="+14155552671")
    survivor, _ = users.register_me(store, person("m1@example.com", "+14155552671"))
    run_pending_links(store)

    later = sell(store, "org-c", phone="+14155552671")

    assert store.get_profile("org-c", later.profile.profile_id).user_id == survivor.user_id


def test_a_stale_activation_loses_and_writes_nothing(store):
    sell(store, "org-a", email="race@example.com")
    dormant = store.get_user(holder(store, "email", "race@example.com"))
    first, _ = users.register_me(store, person("race@example.com"))

    # a second activation planned from the dormant state read before the first one won
    with pytest.raises(ConcurrentWrite):
        store.write_registration(
            RegistrationWrite(
                subject="someone-else",
                previous=dormant,
                user=dormant.model_copy(update={"status": "active", "subject": "someone-else", "version": 2}),
            )
        )

    assert store.get_user(dormant.user_id).subject == first.subject
    assert store.user_id_for_subject("someone-else") is None


def test_a_link_to_a_person_erased_meanwhile_erases_what_the_holder_kept(store):
    sell(store, "org-a", email="poison@example.com")
    dormant_id = holder(store, "email", "poison@example.com")
    (profile_id,) = [p.profile_id for p in store.all_profiles_of_user(dormant_id)]

    effect = PendingEffect(
        kind="link_user",
        effect_id=dormant_id,
        cause={"from_user_id": dormant_id, "to_user_id": "no-such-user"},
        created_at="2026-12-01T00:00:00.000Z",
    )
    item = pending_to_item(effect)
    store.db.table.put_item(Item=item)

    # completed into the erasure, never failing
    handle_change(store, read_change("INSERT", None, item), lambda events: None)

    assert store.get_pending(effect) is None
    erased = store.get_profile("org-a", profile_id)
    assert erased.erased_at and erased.user_id is None and erased.captured is None


def test_activation_publishes_profiles_linked(store):
    sell(store, "org-a", email="evt@example.com")
    user, _ = users.register_me(store, person("evt@example.com"))

    events = run_pending_links(store)

    assert [(e.detail_type, e.detail["user_id"], len(e.detail["profiles"])) for e in events] == [
        ("ProfilesLinked", user.user_id, 1)
    ]
