"""Erasure that holds (docs/decisions.md, privacy): through merges, during linking, for good. Each test is a
scenario a data-protection officer would try; what is left is read by scanning every item of both tables
for the values the erased person gave, never by trusting the service's own records of what it erased."""

import json

import pytest

import linker
import signed_messages
from customer_profiles.data.store import Store
from customer_profiles.domain.effects import effects
from customer_profiles.domain.identity import history, users
from customer_profiles.domain.privacy import consents, privacy
from customer_profiles.domain.sales import pos, receipts
from customer_profiles.domain.staff import org_console
from customer_profiles.edge import secrets as secret_store
from customer_profiles.errors import Erased, NotFound
from customer_profiles.models.api import OrderRequest, PosSaleRequest, ProfileUpdateRequest
from customer_profiles.models.consents import ConsentsRequest
from customer_profiles.models.domain import CapturedDetails, Partner
from tests.unit.conftest import TABLES, staff_principal, user_principal
from tests.unit.test_partners import PARTNER, new_secret, signed

LINES = [{"kind": "ticket", "item_id": "ev-1", "quantity": 2, "unit_price": 2500}]
ADMIN = staff_principal("adm", "org-a", "admin")


def scan(store):
    answers = store.db.resource.Table(store.requests_table).scan()["Items"]
    return store.db.table.scan()["Items"] + answers


def holding(store, *values):
    """Every item of either table that holds any of `values` anywhere (keys included)."""
    return [i for i in scan(store) if any(v.lower() in json.dumps(i, default=str).lower() for v in values)]


def drain(store):
    effects.redrive(store, lambda events: None, links=linker.claim_links())


def sell(store, org_id, **customer):
    request = PosSaleRequest.model_validate(
        {"currency": "EUR", "payment_method": "cash", "lines": LINES, "customer": customer}
    )
    return pos.create_pos_sale(
        store,
        staff_principal(f"till-{org_id}", org_id, "pos"),
        org_id,
        request,
        receipt_keys=secret_store.receipt_code_keys,
    )


def buy(store, principal, org_id):
    order = OrderRequest.model_validate({"currency": "EUR", "payment_method": "card", "lines": LINES})
    return orders_placed(store, principal, org_id, order)


def orders_placed(store, principal, org_id, order):
    from customer_profiles.domain.sales import orders

    return orders.place_consumer_order(store, principal, org_id, order)


def person(sub, *, email=None, phone=None):
    return user_principal(
        sub, email=email, email_verified=bool(email), phone_number=phone, phone_number_verified=bool(phone)
    )


def children_count(store):
    return sum(1 for i in scan(store) if i.get("type") in ("order", "entitlement"))


def test_a_profile_merged_into_the_persons_is_exported_then_erased_with_them(store):
    """Scenario 1: register with a phone and buy at org A (T); a window sale at A typed with the email and a
    family name (P, a dormant holder's); verifying the email merges P into T. The export shows P (merged);
    after the erasure nothing anywhere holds the email or the family name, and staff read P as erased."""
    phone_only = person("p1", phone="+447911000001")
    users.register_me(store, phone_only)
    buy(store, phone_only, "org-a")
    window = sell(store, "org-a", email="merged@example.com", family_name="Zqmerged")
    with_email = person("p1", phone="+447911000001", email="merged@example.com")
    users.register_me(store, with_email)
    drain(store)
    exported = privacy.export_me(store, with_email, cursor=None)
    merged = [p for p in exported.profiles if p.merged_into]
    assert [p.profile_id for p in merged] == [window.profile.profile_id]
    kept = children_count(store)

    privacy.erase_me(store, with_email)
    drain(store)

    assert holding(store, "merged@example.com", "Zqmerged", "+447911000001") == []
    assert children_count(store) == kept
    shell = org_console.read_profile(store, ADMIN, "org-a", window.profile.profile_id, limit=10, cursor=None)
    assert "Zqmerged" not in shell.model_dump_json() and "merged@example.com" not in shell.model_dump_json()
    assert store.get_profile("org-a", window.profile.profile_id).erased_at
    assert store.all_pending() == []


def test_an_erasure_while_a_link_is_pending_completes_the_link_into_the_erasure(store):
    """Scenario 2: `DELETE /v1/me` before the linker ran: the link does not fail forever, the dormant
    holder's profiles are erased too, and nothing is left pending."""
    sell(store, "org-b", email="racing@example.com", given_name="Racer")
    first = person("r1", phone="+447911000002")
    users.register_me(store, first)
    buy(store, first, "org-a")
    both = person("r1", phone="+447911000002", email="racing@example.com")
    users.register_me(store, both)  # folds the dormant holder in: a link is pending
    assert any(e.kind == "link_user" for e in store.all_pending())

    privacy.erase_me(store, both)
    result = effects.redrive(store, lambda events: None, links=linker.claim_links())

    assert result.failed == []
    assert store.all_pending() == []
    assert holding(store, "racing@example.com", "Racer", "+447911000002") == []


def test_a_sale_typed_with_the_email_during_the_erasure_goes_to_a_new_dormant_holder(store):
    """Scenario 2: a window sale typed with the person's verified email after the erasure began creates no
    profile under the user being erased; it waits for whoever proves the email next."""
    someone = person("s1", email="during@example.com")
    users.register_me(store, someone)
    erased_user = users.current_user_id(store, someone)
    privacy.erase_me(store, someone)

    sold = sell(store, "org-a", email="during@example.com")
    drain(store)

    assert store.get_profile("org-a", sold.profile.profile_id).user_id != erased_user
    assert store.get_user(erased_user) is None
    assert store.all_profiles_of_user(erased_user) == []
    again = person("s2", email="during@example.com")  # the email proved again (by a new sign-up)
    users.register_me(store, again)
    drain(store)
    assert sold.order.order_id in {
        e.order.order_id
        for e in history.history_of_me(store, again, org_id=None, limit=50, cursor=None).entries
        if e.order
    }


def test_an_erased_profile_takes_nothing_new(store):
    """Scenario 3: after the org erases a profile, its receipt code does not redeem it, staff cannot write
    names back onto it, and no consent is stored on it."""
    sold = sell(store, "org-a", given_name="Anon")
    profile_id = sold.profile.profile_id
    privacy.erase_org_profile(store, ADMIN, "org-a", profile_id)
    drain(store)

    with pytest.raises(Erased):
        receipts.redeem_receipt(
            store, person("redeemer", email="r@example.com"), sold.receipt_code, keys=secret_store.receipt_code_keys
        )
    current = store.get_profile("org-a", profile_id)
    update = ProfileUpdateRequest.model_validate({"version": current.version, "attributes": {"given_name": "Back"}})
    with pytest.raises(Erased):
        org_console.update_profile(store, ADMIN, "org-a", profile_id, update)
    said = ConsentsRequest.model_validate({"consents": [{"purpose": "marketing_email", "status": "granted"}]})
    with pytest.raises(Erased):
        consents.record_by_staff(store, staff_principal("till-org-a", "org-a", "pos"), "org-a", profile_id, said)
    assert store.consents_of("org-a", profile_id) == {}


def test_an_org_erasure_forgets_open_claims_contacts_and_the_dormant_holder(store, partner_order):
    """Scenario 4: the org erases the profile a reseller's order made: its open claim keeps no email or
    phone (no reminder can reach them), and the dormant holder neither holds the email nor keeps it."""
    partner_order("claimed-by-nobody@example.com", "+447911000004")
    holder_id = store.identifier_holders([("email", "claimed-by-nobody@example.com")])[
        ("email", "claimed-by-nobody@example.com")
    ].user_id
    profile_id = store.profile_id_of_user_in_org(holder_id, "org-a")

    privacy.erase_org_profile(store, ADMIN, "org-a", profile_id)
    drain(store)

    assert [
        (i.get("pk"), i.get("sk"), i.get("status"))
        for i in holding(store, "claimed-by-nobody@example.com", "+447911000004")
    ] == []
    holder = store.get_user(holder_id)
    assert holder is None or (holder.email is None and holder.phone is None)


def test_an_org_erasure_racing_a_sale_elsewhere_never_strands_that_sale(store, monkeypatch):
    """Org A erases the only profile of the dormant holder of an email while org B sells to that email: the
    erasure read the holder with no profile left just before B's sale made one under it. The release then
    fails on the holder's version, reads again and keeps the holder, so whoever verifies the email later
    gets B's sale."""
    sell(store, "org-a", email="raced@example.com")
    holder_id = store.identifier_holders([("email", "raced@example.com")])[("email", "raced@example.com")].user_id
    profile_id = store.profile_id_of_user_in_org(holder_id, "org-a")
    reads = {"n": 0}
    user_has_profiles = store.user_has_profiles

    def read_then_b_sells(user_id):
        found = user_has_profiles(user_id)
        reads["n"] += 1
        if reads["n"] == 1:  # the erasure has read "no profile left"; org B's sale commits now
            reads["sale"] = sell(store, "org-b", email="raced@example.com")
        return found

    monkeypatch.setattr(store, "user_has_profiles", read_then_b_sells)
    privacy.erase_org_profile(store, ADMIN, "org-a", profile_id)
    drain(store)

    assert reads["n"] == 2  # the release failed on the holder's version and read again
    sale = reads["sale"]
    owner = person("owner", email="raced@example.com")
    users.register_me(store, owner)
    drain(store)
    assert sale.order.order_id in {
        e.order.order_id
        for e in history.history_of_me(store, owner, org_id=None, limit=50, cursor=None).entries
        if e.order
    }


def test_a_persons_verified_email_captured_on_someone_elses_profile_goes_with_their_erasure(store):
    """Scenario 7: staff typed the first customer's email with the second customer's phone on the second
    customer's sale; the second verified only the phone. The first verifies the email and erases
    themselves: the second's export no longer shows it, staff search by it finds nothing, and the second
    profile's trail says an identifier was forgotten (never which)."""
    second = person("second", phone="+447911000007")
    users.register_me(store, second)
    sell(store, "org-a", email="first@example.com", phone="+447911000007")
    drain(store)
    first = person("first", email="first@example.com")
    users.register_me(store, first)
    drain(store)

    privacy.erase_me(store, first)
    drain(store)

    exported = privacy.export_me(store, second, cursor=None)
    assert "first@example.com" not in exported.model_dump_json()
    found = org_console.list_profiles(
        store, ADMIN, "org-a", search=("email", "first@example.com"), limit=10, cursor=None
    )
    assert found.profiles == []
    assert holding(store, "first@example.com") == []
    profile_id = exported.profiles[0].profile_id
    trail = [i for i in scan(store) if i.get("type") == "activity" and i.get("profile_id") == profile_id]
    assert trail == []  # the trail is written by the linker from the stream (its own tests, and test_activity)


def test_erasing_a_profile_that_absorbed_many_emails_and_cards_is_possible(store):
    """Scenario 9: a profile implying far more than one transaction's 100 items is erased in chunks."""
    sold = sell(store, "org-a", email="many-0@example.com")
    profile = store.get_profile("org-a", sold.profile.profile_id)
    for start in range(1, 121, 30):  # 120 more emails and 60 cards, 30 and 15 at a time (each write < 100 items)
        captured = profile.captured or CapturedDetails()
        more = [f"many-{n}@example.com" for n in range(start, start + 30)]
        cards = [f"card{n:04d}" for n in range(start, start + 15)]
        grown = profile.model_copy(
            update={
                "captured": captured.model_copy(update={"other_emails": [*captured.other_emails, *more]}),
                "cards": [*profile.cards, *cards],
                "version": profile.version + 1,
            }
        )
        store.replace_profile(profile, grown)
        profile = grown

    privacy.erase_org_profile(store, ADMIN, "org-a", profile.profile_id)
    drain(store)

    assert holding(store, "many-", "card0") == []


def test_a_second_erasure_and_a_cached_id_after_it_do_nothing(store):
    someone = person("twice", email="twice@example.com")
    users.register_me(store, someone)
    privacy.erase_me(store, someone)
    privacy.erase_me(store, someone)  # marked already: the subject no longer names a user
    drain(store)
    privacy.erase_me(store, someone)
    assert store.all_pending() == []
    with pytest.raises(NotFound):
        users.get_me(store, someone)


def test_a_store_without_the_requests_table_leaves_the_answers_of_an_erased_profile_pending(store, aws):
    """The answers about an erased profile are deleted in the requests table: a store made without it (the
    operator's was) fails the `pseudonymise_profile` effect and leaves it pending with the answer's reference,
    rather than deleting the reference alone and completing with the answer, and the phone in it, left."""
    someone = person("no-table", phone="+447911000078")
    users.register_me(store, someone)
    sell(store, "org-a", phone="+447911000078")  # its answer shows the profile with the phone typed
    privacy.erase_me(store, someone)
    without_requests = Store(TABLES["ProfilesTable"], aws)

    result = effects.redrive(without_requests, lambda events: None, links=linker.claim_links())

    assert [f.split(" ")[0] for f in result.failed] == ["pseudonymise_profile"]
    assert [e.kind for e in store.all_pending()] == ["pseudonymise_profile"]
    drain(store)  # a store that knows the table (the linker's) completes it
    assert store.all_pending() == []
    assert holding(store, "+447911000078") == []


@pytest.fixture
def partner_order(store, tmp_path):
    """A reseller's order for a buyer at org A (a claim goes to them), through the partner use case."""
    value = new_secret()
    (tmp_path / "partner-secrets.json").write_text(json.dumps({PARTNER: [value]}))
    store.put_partner(Partner(partner_id=PARTNER, display_name="Resale Co", org_ids=["org-a"]), "2026-01-01T00:00:00Z")

    def place(email, phone):
        body = json.dumps(
            {
                "org_id": "org-a",
                "external_order_id": "rc-2001",
                "currency": "EUR",
                "buyer": {"email": email, "phone": phone, "given_name": "Bo"},
                "lines": [{"kind": "ticket", "item_id": "ev-final", "quantity": 2, "unit_price": 9900}],
            }
        )
        answer, _ = signed_messages.receive(store, PARTNER, signed(value, body), body, claim_days=30)
        return answer

    return place
