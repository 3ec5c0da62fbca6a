"""Lineage on every move (docs/decisions.md, undo): each proof, link, merge, claim, redemption and attach keeps
what it moved, from where, by which proof, for the deployment's retention time; an erasure leaves none of the
erased person's identifiers in it. What is kept is read back through the store; what is forgotten is read by
scanning every item of both tables for the values, never by trusting the service's own records."""

from datetime import datetime, timedelta

from customer_profiles.data.store import Store
from customer_profiles.domain.effects.trail import ProfileActivity, activity_of_change
from customer_profiles.domain.identity import users
from customer_profiles.domain.privacy import privacy
from customer_profiles.domain.staff import org_console
from customer_profiles.models.api import AttachIdentifierRequest
from customer_profiles.models.domain import Move
from customer_profiles.ports.effects import ItemKey, MoveKept
from tests.unit.conftest import TABLES, staff_principal
from tests.unit.test_erasure import buy, drain, holding, person, sell

EMAIL, PHONE = "typed-owner@example.com", "+447911000077"
ADMIN = staff_principal("adm", "org-a", "admin")


def profile_of(store, principal, org_id):
    return store.profile_id_of_user_in_org(users.current_user_id(store, principal), org_id)


def test_a_sale_brought_by_a_proof_keeps_every_identifier_it_was_typed_with_in_its_move(store):
    sale = sell(store, "org-a", email=EMAIL, phone=PHONE)  # the email's new dormant holder has it
    prover = person("prover", phone=PHONE)
    users.register_me(store, prover)
    drain(store)  # the phone's proof brings the sale

    target = profile_of(store, prover, "org-a")
    (move,) = store.moves_of("org-a", target, "order", sale.order.order_id)
    assert (move.kind, move.proof, move.from_profile_id) == ("proof", "phone", sale.profile.profile_id)
    assert {t.identifier for t in move.typed} == {("email", EMAIL), ("phone", PHONE)}
    assert sorted(move.entitlement_ids) == sorted(e.entitlement_id for e in sale.entitlements)
    order = store.get_order("org-a", target, sale.order.created_at, sale.order.order_id)
    assert [t.identifier for t in order.typed] == [("phone", PHONE)]  # the order keeps only what moved it


def test_an_erased_persons_identifier_leaves_every_move_that_kept_it(store):
    sell(store, "org-a", email=EMAIL, phone=PHONE)
    users.register_me(store, person("prover", phone=PHONE))
    drain(store)
    owner = person("owner", email=EMAIL)
    users.register_me(store, owner)  # too late for that sale: the phone's proof reached it first
    drain(store)
    assert holding(store, EMAIL)

    privacy.erase_me(store, owner)
    drain(store)

    assert holding(store, EMAIL) == []


def test_a_link_and_a_merge_keep_what_they_moved(store):
    both = person("both", phone=PHONE)
    users.register_me(store, both)
    buy(store, both, "org-a")  # their own profile at org A
    own = profile_of(store, both, "org-a")
    window_a = sell(store, "org-a", email=EMAIL, family_name="Merged")  # a dormant holder's, merged on proof
    window_b = sell(store, "org-b", email=EMAIL)  # a dormant holder's, linked on proof
    users.register_me(store, person("both", phone=PHONE, email=EMAIL))
    drain(store)

    merged = store.moves_of("org-a", window_a.profile.profile_id, "merge")
    assert {m.to_profile_id for m in merged} == {own}
    assert {o for m in merged for o in m.order_ids} == {window_a.order.order_id}
    assert {e for m in merged for e in m.entitlement_ids} == {e.entitlement_id for e in window_a.entitlements}
    assert {e for m in merged for e in m.emails} == {EMAIL}  # the survivor took the email over
    (link,) = store.moves_of("org-b", window_b.profile.profile_id, "profile")
    assert link.kind == "link" and link.from_user_id != link.to_user_id


def test_an_attach_is_kept_with_who_made_it(store):
    sold = sell(store, "org-a")  # anonymous: an orphan profile
    profile = store.get_profile("org-a", sold.profile.profile_id)
    request = AttachIdentifierRequest.model_validate({"email": EMAIL, "version": profile.version})
    org_console.attach_identifier(store, ADMIN, "org-a", profile.profile_id, request)

    (move,) = store.moves_of("org-a", profile.profile_id, "profile")
    assert (move.kind, move.proof, move.by.get("kind"), move.from_user_id) == ("attach", "staff", "staff", None)


def test_each_move_is_kept_for_the_deployments_retention_time(aws):
    store = Store(TABLES["ProfilesTable"], aws, requests_table=TABLES["IdempotencyTable"], lineage_days=7)
    sale = sell(store, "org-a", email=EMAIL, phone=PHONE)
    prover = person("prover", phone=PHONE)
    users.register_me(store, prover)
    drain(store)

    (move,) = store.moves_of("org-a", profile_of(store, prover, "org-a"), "order", sale.order.order_id)
    kept = datetime.fromisoformat(move.expires_at) - datetime.fromisoformat(move.at)
    assert timedelta(days=7) - timedelta(seconds=1) <= kept <= timedelta(days=7)


def test_the_trail_shows_a_move_on_both_profiles_without_whom_it_moved():
    move = Move(
        move_id="t1",
        org_id="org-a",
        profile_id="to",
        subject="order",
        order_id="o1",
        kind="proof",
        proof="email",
        at="2026-12-07T10:00:00.000Z",
        from_profile_id="from",
        from_user_id="user-secret",
        to_user_id="user-other",
        to_profile_id="to",
        typed=[{"kind": "email", "value": EMAIL, "provenance": "staff_captured"}],
    )
    change = MoveKept(event="INSERT", key=ItemKey("ORG#org-a#PROFILE#to", "UNDO#ORDER#o1#t1"), old=None, new=move)

    entries = activity_of_change(change, record_time="2026-12-07T10:00:00.000Z")

    assert [(e.profile_id, e.entry.kind, e.entry.move, e.entry.other_profile_id) for e in entries] == [
        ("to", "moved", "proof", "from"),
        ("from", "moved", "proof", "to"),
    ]
    assert all(isinstance(e, ProfileActivity) for e in entries)
    shown = " ".join(e.entry.model_dump_json() for e in entries)
    assert EMAIL not in shown and "user-secret" not in shown
