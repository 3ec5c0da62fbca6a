"""Durable effects and merges that close the door, on moto: the races of the linking issue, injected."""

import pytest

from customer_profiles.data import keys
from customer_profiles.domain.effects import effects
from customer_profiles.domain.identity import linking, users
from customer_profiles.domain.sales import pos, sale_plan
from customer_profiles.errors import ConcurrentWrite
from customer_profiles.models.api import PosSaleRequest
from tests.unit.conftest import staff_principal, user_principal
from tests.unit.test_linking import person, run_pending_links, sell

LINES = [{"kind": "ticket", "item_id": "ev-1", "quantity": 1, "unit_price": 100}]


def test_an_effect_whose_publish_fails_stays_pending_and_the_re_drive_publishes_it(store):
    # Given a registration (its UserRegistered is a pending effect)
    user, _ = users.register_me(store, user_principal())
    (effect,) = store.all_pending()

    # When publishing fails
    def broken(events):
        raise RuntimeError("EventBridge is down")

    with pytest.raises(RuntimeError):
        effects.complete(store, effect, broken)

    # Then the effect is still pending, and the re-drive publishes it and then removes it
    assert store.all_pending() == [effect]
    published = []
    assert effects.redrive(store, published.extend).done == 1
    assert [(e.detail_type, e.detail["user_id"]) for e in published] == [("UserRegistered", user.user_id)]
    assert store.all_pending() == []


def test_a_sale_planned_for_a_dormant_user_that_is_merged_before_it_commits_lands_with_the_person(store):
    # Given a dormant user by phone, and a sale planned for it at a new org
    sell(store, "org-a", phone="+14155552671")
    request = PosSaleRequest.model_validate({"currency": "GBP", "payment_method": "cash", "lines": LINES})
    planned = sale_plan.plan_sale(
        store,
        "org-z",
        sale_plan.Customer(identifiers=[("phone", "+14155552671")]),
        request,
        payment_method="cash",
        channel="pos",
        origin="pos",
        proof=pos.Proof(provenance="staff_captured", at="t", org_id="org-z"),
    )

    # When the dormant user is merged into a person (who verified its phone) and linked before the sale commits
    sell(store, "org-b", email="anchor@example.com")
    principal = person("anchor@example.com", "+14155552671")
    users.register_me(store, principal)
    run_pending_links(store)

    # Then the planned sale cannot strand a profile under the merged user; planned again, it is the person's
    with pytest.raises(ConcurrentWrite):
        store.write_sale(planned.write)
    seller = staff_principal("till", "org-z", "pos")
    again = pos.create_pos_sale(
        store,
        seller,
        "org-z",
        request.model_copy(update={})
        if False
        else PosSaleRequest.model_validate(
            {"currency": "GBP", "payment_method": "cash", "lines": LINES, "customer": {"phone": "+14155552671"}}
        ),
    )
    assert store.get_profile("org-z", again.profile.profile_id).user_id == users.current_user_id(store, principal)


def test_a_profile_being_merged_takes_no_new_children_and_an_interrupted_merge_is_finished(store, monkeypatch):
    # Given a person with a profile at org-a, and a dormant user's profile there too, then linked halfway:
    sale = sell(store, "org-a", email="half@example.com")
    principal = user_principal(phone_number="+14155552671", phone_number_verified=True)
    users.register_me(store, principal)
    mine = pos.create_pos_sale(
        store,
        staff_principal("till", "org-a", "pos"),
        "org-a",
        PosSaleRequest.model_validate(
            {"currency": "GBP", "payment_method": "cash", "lines": LINES, "customer": {"phone": "+14155552671"}}
        ),
    )
    users.register_me(
        store, principal.__class__(**{**principal.__dict__, "email": "half@example.com", "email_verified": True})
    )

    # the merge marks the source as merging, then crashes before moving anything
    monkeypatch.setattr(linking, "finish_merge", lambda *_, **__: (_ for _ in ()).throw(RuntimeError("crash")))
    result = effects.redrive(store, lambda events: None)
    assert any("crash" in failure for failure in result.failed)
    source = store.get_profile("org-a", sale.profile.profile_id)
    assert source.merging_into == mine.profile.profile_id

    # When a sale comes for the merging profile's old holder meanwhile, it cannot land on it
    from customer_profiles.ports.sales import SaleWrite

    late = sale.order.model_copy(update={"order_id": "late-order", "created_at": "2026-12-01T00:00:00.000Z"})
    with pytest.raises(ConcurrentWrite):
        store.write_sale(SaleWrite(order=late, entitlements=[], user_id=source.user_id))

    # Then the next attempt finishes the merge: everything under the survivor, the source merged
    monkeypatch.undo()
    run_pending_links(store)
    done = store.get_profile("org-a", sale.profile.profile_id)
    assert done.merged_into == mine.profile.profile_id and done.merging_into is None
    _, orders, _ = store.profile_with_children("org-a", mine.profile.profile_id)
    assert {o.order_id for o in orders} == {sale.order.order_id, mine.order.order_id}
    assert store.profile_with_children("org-a", sale.profile.profile_id)[1:] == ([], [])


def test_linking_decides_on_the_base_table_whatever_the_index_says(store, monkeypatch):
    # Given a dormant user with profiles in two orgs, merged into a person
    sell(store, "org-a", phone="+14155552671")
    sell(store, "org-b", phone="+14155552671")
    sell(store, "org-c", email="lag@example.com")
    principal = person("lag@example.com", "+14155552671")
    users.register_me(store, principal)

    # When every index read comes back empty (an index lagging the table)
    real = store.db.table.query

    def lagging(**arguments):
        if arguments.get("IndexName") == keys.BY_USER_INDEX:
            return {"Items": [], "Count": 0}
        return real(**arguments)

    monkeypatch.setattr(store.db.table, "query", lagging)
    run_pending_links(store)
    monkeypatch.undo()

    # Then every profile moved all the same
    assert sorted(p.org_id for p in store.all_profiles_of_user(users.current_user_id(store, principal))) == [
        "org-a",
        "org-b",
        "org-c",
    ]
