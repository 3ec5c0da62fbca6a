"""Issue 15's export and erasure on moto: what an erasure leaves (every item scanned), that it resumes after a
crash and answers the same twice, and that an org's erasure touches its profile only."""

import json
import uuid

import pytest

from customer_profiles.domain.effects import effects
from customer_profiles.domain.identity import registration, users
from customer_profiles.domain.privacy import consents, privacy
from customer_profiles.domain.sales import orders, pos
from customer_profiles.domain.staff import org_console
from customer_profiles.errors import Forbidden, InvalidInput, NotFound, StateConflict
from customer_profiles.models.api import AttachIdentifierRequest, OrderRequest, PosSaleRequest
from customer_profiles.models.consents import ConsentsRequest
from tests.unit.conftest import staff_principal, user_principal

LINES = [{"kind": "ticket", "item_id": "ev", "quantity": 2, "unit_price": 1000}]


def items(store):
    return store.db.table.scan()["Items"]


def holding(store, *values):
    """Items of both tables (the profiles and the idempotent answers) that hold any of `values`."""
    answers = store.db.resource.Table(store.requests_table).scan()["Items"]
    return [i for i in items(store) + answers if any(v.lower() in json.dumps(i, default=str).lower() for v in values)]


def drain(store):
    """The linker's work: every pending effect completed."""
    effects.redrive(store, lambda events: None)


def seeded(store):
    tag = uuid.uuid4().hex[:8]
    email, family = f"p-{tag}@example.com", f"Zq{tag}"
    sale = PosSaleRequest.model_validate(
        {
            "currency": "EUR",
            "payment_method": "cash",
            "lines": LINES,
            "customer": {
                "email": email,
                "family_name": family,
                "id_document": {"type": "passport", "last_digits": "77"},
            },
        }
    )
    pos.create_pos_sale(store, staff_principal("till", "org-a", "pos"), "org-a", sale)
    person = user_principal(f"sub-{tag}", email=email, email_verified=True)
    registration.register(store, person)
    order = OrderRequest.model_validate({"currency": "EUR", "payment_method": "card", "lines": LINES})
    orders.place_consumer_order(store, person, "org-b", order)
    said = ConsentsRequest.model_validate({"consents": [{"purpose": "marketing_email", "status": "granted"}]})
    consents.set_my_consents(store, person, "org-b", said)
    drain(store)
    return person, email, family


def children(store):
    return [i for i in items(store) if i.get("type") in ("order", "entitlement")]


def test_an_erasure_leaves_no_personal_value_and_every_order(store):
    person, email, family = seeded(store)
    kept = len(children(store))
    assert holding(store, email, family)

    privacy.erase_me(store, person)
    drain(store)

    assert holding(store, email, family) == []
    assert [i for i in items(store) if i["sk"].startswith("CONSENT#")] == []
    assert len(children(store)) == kept
    assert [i for i in children(store) if "user_id" in i or "gsi1pk" in i] == []
    with pytest.raises(NotFound):
        users.get_me(store, person)
    privacy.erase_me(store, person)  # again: nothing to do


def test_an_erasure_interrupted_anywhere_resumes_and_finishes(store, monkeypatch):
    person, email, family = seeded(store)

    def crash(*_args, **_kwargs):
        raise RuntimeError("the function stopped here")

    privacy.erase_me(store, person)  # marked: the rest is the erase_user effect's
    with pytest.raises(NotFound):
        users.get_me(store, person)  # the subject no longer signs in as the user being erased
    for step in ("delete_user_partition", "finish_erasure"):
        monkeypatch.setattr(store, step, crash)
        drain(store)  # fails at `step`: the effect stays pending
        assert [e.kind for e in store.all_pending() if e.kind == "erase_user"] == ["erase_user"]
        monkeypatch.undo()
    drain(store)

    assert holding(store, email, family) == []
    assert store.all_pending() == []


def test_signing_up_after_an_erasure_starts_fresh(store):
    person, _, _ = seeded(store)
    before = users.current_user_id(store, person)

    privacy.erase_me(store, person)
    again, created = users.register_me(store, person)

    assert created and again.user_id != before
    assert store.all_profiles_of_user(again.user_id) == []


def test_an_org_erases_one_profile_and_leaves_the_person_and_the_other_org(store):
    person, email, family = seeded(store)
    user_id = users.current_user_id(store, person)
    profile_id = store.profile_id_of_user_in_org(user_id, "org-a")

    with pytest.raises(Forbidden):
        privacy.erase_org_profile(store, staff_principal("v", "org-a", "viewer"), "org-a", profile_id)
    with pytest.raises(NotFound):
        privacy.erase_org_profile(store, staff_principal("x", "org-b", "admin"), "org-a", profile_id)
    erased = privacy.erase_org_profile(store, staff_principal("adm", "org-a", "admin"), "org-a", profile_id)
    drain(store)

    assert erased.erased_at and erased.captured is None
    assert holding(store, family) == []  # the name lived on the org-a profile only
    assert users.get_me(store, person).email == email  # the person keeps their account
    assert [p.org_id for p in store.all_profiles_of_user(user_id)] == ["org-b"]
    again = privacy.erase_org_profile(store, staff_principal("adm", "org-a", "admin"), "org-a", profile_id)
    assert again.erased_at == erased.erased_at


def test_an_export_pages_the_history(store, monkeypatch):
    person, email, _ = seeded(store)
    monkeypatch.setattr(privacy, "EXPORT_PAGE", 4)
    first = privacy.export_me(store, person, cursor=None)
    assert first.user and first.user.email == email
    assert {p.org_id for p in first.profiles} == {"org-a", "org-b"}
    (app_profile,) = [p for p in first.profiles if p.org_id == "org-b"]
    assert [(c.purpose, c.status) for c in app_profile.consents] == [("marketing_email", "granted")]
    entries, cursor = list(first.history), first.next_cursor
    while cursor:
        page = privacy.export_me(store, person, cursor=cursor)
        assert page.user is None and page.profiles == []
        entries += page.history
        cursor = page.next_cursor
    ids = [e.order.order_id if e.order else e.entitlement.entitlement_id for e in entries if e.order or e.entitlement]
    assert len(entries) == len(set(ids)) == 6  # each once
    assert first.next_cursor  # more than one page
    with pytest.raises(InvalidInput):
        privacy.export_me(store, person, cursor="eyJwYXJ0IjogImVsc2V3aGVyZSJ9")  # {"part": "elsewhere"}


def test_an_erased_profile_cannot_be_given_to_a_customer_again(store):
    person, email, _ = seeded(store)
    user_id = users.current_user_id(store, person)
    profile_id = store.profile_id_of_user_in_org(user_id, "org-a")
    admin = staff_principal("adm", "org-a", "admin")
    erased = privacy.erase_org_profile(store, admin, "org-a", profile_id)
    version = store.get_profile("org-a", profile_id).version

    with pytest.raises(StateConflict):
        org_console.attach_identifier(
            store, admin, "org-a", profile_id, AttachIdentifierRequest(version=version, email=email)
        )
    assert erased.erased_at and store.get_profile("org-a", profile_id).user_id is None
