"""Issue 29's undo on moto: a person disowning a sale a typed identifier brought them, an admin unlinking a
profile an identifier linked (docs/decisions.md, undo). Asserted through what each person sees (their
history), the org's view of its profiles and what is published."""

import pytest

from customer_profiles.data.store import Store
from customer_profiles.domain.claims import claims
from customer_profiles.domain.identity import undo, users
from customer_profiles.domain.sales import orders, receipts
from customer_profiles.domain.staff import org_console, unlink
from customer_profiles.edge import secrets as secret_store
from customer_profiles.errors import BoughtByYou, LineageExpired, NotFound, NotLinked, StateConflict
from customer_profiles.models.api import AttachIdentifierRequest, OrderRequest, UnlinkRequest
from tests.unit import test_partners
from tests.unit.conftest import staff_principal
from tests.unit.test_claim_lifecycle import BUYER, link
from tests.unit.test_claim_lifecycle import order as partner_order
from tests.unit.test_linking import run_pending_links
from tests.unit.test_proof_per_sale import LINES, orders_seen, person, sell

secret = test_partners.secret  # the partner and its signing secret, as a fixture
OWNER_EMAIL, BOB_PHONE, STRAY_PHONE = "owner@example.com", "+447911123456", "+14155552671"
REASON = "I was never at this venue"
ADMIN = staff_principal("admin-1", "org-a", "admin")


def brought_by_proof(store):
    """A window sale typed with the owner's email and Bob's phone; Bob proves his phone first and the sale
    moves to him (a proof)."""
    sale = sell(store, "org-a", email=OWNER_EMAIL, phone=BOB_PHONE)
    bob = person("bob", phone=BOB_PHONE)
    users.register_me(store, bob)
    run_pending_links(store)
    assert sale.order.order_id in orders_seen(store, bob)
    return sale.order.order_id, bob


def org_profile_of(store, order_id):
    """The org's view of the profile holding `order_id` now (found in the table: the order is its child)."""
    (item,) = [i for i in store.db.table.scan()["Items"] if i.get("type") == "order" and i["order_id"] == order_id]
    return org_console.read_profile(store, ADMIN, item["org_id"], item["profile_id"], limit=25, cursor=None)


def test_a_disowned_sale_goes_to_the_dormant_holder_of_its_other_identifier_and_reaches_its_owner(store):
    order_id, bob = brought_by_proof(store)

    answer = undo.disown_order(store, bob, order_id, REASON)
    published = run_pending_links(store)

    assert answer.order_id == order_id
    assert orders_seen(store, bob) == set()
    assert [e.detail for e in published if e.detail_type == "OrderDisowned"] == [
        {"org_id": "org-a", "order_id": order_id, "profile_id": answer_profile(store, order_id), "reason": REASON}
    ]
    view = org_profile_of(store, order_id)
    assert view.profile.needs_review and not view.profile.linked_account
    assert store.typed_sales(("phone", BOB_PHONE)) == []  # Bob's phone never brings it back
    users.register_me(store, bob)  # signing in again proves the phone again: nothing comes back
    run_pending_links(store)
    assert orders_seen(store, bob) == set()

    owner = person("owner", email=OWNER_EMAIL)
    users.register_me(store, owner)
    run_pending_links(store)
    assert orders_seen(store, owner) == {order_id}


def answer_profile(store, order_id):
    return org_profile_of(store, order_id).profile.profile_id


def test_the_trail_shows_the_disown(store):
    order_id, bob = brought_by_proof(store)
    undo.disown_order(store, bob, order_id, REASON)
    run_pending_links(store)

    moves = store.moves_of("org-a", answer_profile(store, order_id), "order", order_id)
    assert [m.kind for m in moves] == ["sale", "disown"]  # back under the profile it was placed under
    assert moves[-1].reason == REASON and [t.identifier for t in moves[-1].typed] == [("email", OWNER_EMAIL)]


def test_a_sale_placed_with_its_person_at_once_goes_to_a_new_holder_of_its_other_identifier(store):
    bob = person("bob", phone=BOB_PHONE)
    users.register_me(store, bob)
    sale = sell(store, "org-a", email=OWNER_EMAIL, phone=BOB_PHONE)  # Bob proved his phone before: his at once
    assert sale.order.order_id in orders_seen(store, bob)

    undo.disown_order(store, bob, sale.order.order_id, REASON)
    run_pending_links(store)
    assert orders_seen(store, bob) == set()

    owner = person("owner", email=OWNER_EMAIL)
    users.register_me(store, owner)
    run_pending_links(store)
    assert orders_seen(store, owner) == {sale.order.order_id}


def test_a_sale_placed_with_its_person_at_once_goes_to_whoever_verified_its_other_identifier_since(store):
    """The owner verifies the email after the sale went to Bob: too late for it then (Bob proved first), and the
    order itself keeps only Bob's phone; its placement kept the email, so Bob's disown finds the owner."""
    bob = person("bob", phone=BOB_PHONE)
    users.register_me(store, bob)
    sale = sell(store, "org-a", email=OWNER_EMAIL, phone=BOB_PHONE)
    owner = person("owner", email=OWNER_EMAIL)
    users.register_me(store, owner)
    run_pending_links(store)
    assert orders_seen(store, owner) == set()

    undo.disown_order(store, bob, sale.order.order_id, REASON)
    run_pending_links(store)

    assert orders_seen(store, bob) == set()
    assert orders_seen(store, owner) == {sale.order.order_id}


def test_a_sale_its_holder_brought_by_activation_can_be_disowned_to_its_other_identifier(store):
    """A sale typed with Bob's phone first and the owner's email went to the phone's dormant holder; Bob's
    sign-up activated that holder (no move: the same user), then the owner verified the email."""
    sale = sell(store, "org-a", phone=BOB_PHONE, email=OWNER_EMAIL)
    bob = person("bob", phone=BOB_PHONE)
    users.register_me(store, bob)
    owner = person("owner", email=OWNER_EMAIL)
    users.register_me(store, owner)
    run_pending_links(store)
    assert orders_seen(store, bob) == {sale.order.order_id}

    undo.disown_order(store, bob, sale.order.order_id, REASON)
    run_pending_links(store)

    assert orders_seen(store, bob) == set()
    assert orders_seen(store, owner) == {sale.order.order_id}


def test_a_sale_whose_holders_profile_merged_into_the_persons_can_be_disowned(store):
    """Bob has his own profile at org A; a window sale there typed with his email and the owner's phone goes to
    the email's dormant holder; Bob verifying the email merges that profile into his (the sale's moves stay
    where it was placed). His disown still finds the phone, and the owner proving it gets the sale."""
    bob = person("bob", phone=BOB_PHONE)
    users.register_me(store, bob)
    orders.place_consumer_order(store, bob, "org-a", OrderRequest(currency="GBP", payment_method="card", lines=LINES))
    sale = sell(store, "org-a", email="bob@example.com", phone=STRAY_PHONE)
    users.register_me(store, person("bob", phone=BOB_PHONE, email="bob@example.com"))
    run_pending_links(store)
    assert sale.order.order_id in orders_seen(store, bob)

    undo.disown_order(store, bob, sale.order.order_id, REASON)
    run_pending_links(store)
    owner = person("owner", phone=STRAY_PHONE)
    users.register_me(store, owner)
    run_pending_links(store)

    assert sale.order.order_id not in orders_seen(store, bob)
    assert orders_seen(store, owner) == {sale.order.order_id}


def test_a_sale_typed_only_with_the_persons_identifier_becomes_an_orphan(store):
    bob = person("bob", phone=BOB_PHONE)
    users.register_me(store, bob)
    sale = sell(store, "org-a", phone=BOB_PHONE)

    undo.disown_order(store, bob, sale.order.order_id, REASON)
    run_pending_links(store)

    assert orders_seen(store, bob) == set()
    view = org_profile_of(store, sale.order.order_id)
    assert view.profile.needs_review and view.profile.captured.phone is None


def test_a_repeat_moves_nothing_twice(store):
    order_id, bob = brought_by_proof(store)
    undo.disown_order(store, bob, order_id, REASON)

    with pytest.raises(NotFound):
        undo.disown_order(store, bob, order_id, REASON)
    run_pending_links(store)
    orders_left = [i for i in store.db.table.scan()["Items"] if i.get("type") == "order" and i["order_id"] == order_id]
    assert len(orders_left) == 1
    moves = store.moves_of("org-a", orders_left[0]["profile_id"], "order", order_id)
    assert [m.kind for m in moves].count("disown") == 1


def test_a_consumer_purchase_is_the_buyers(store):
    owner = person("owner", email=OWNER_EMAIL)
    users.register_me(store, owner)
    request = OrderRequest.model_validate({"currency": "GBP", "payment_method": "card", "lines": LINES})
    bought = orders.place_consumer_order(store, owner, "org-a", request)

    with pytest.raises(BoughtByYou) as refused:
        undo.disown_order(store, owner, bought.order.order_id, REASON)
    assert refused.value.code == "bought_by_you"


def test_a_redeemed_receipt_code_is_the_redeemers(store):
    anonymous = sell(store, "org-a")
    ada = person("ada", email="ada@example.com")
    users.register_me(store, ada)
    receipts.redeem_receipt(store, ada, anonymous.receipt_code, keys=secret_store.receipt_code_keys)

    with pytest.raises(BoughtByYou, match="receipt code"):
        undo.disown_order(store, ada, anonymous.order.order_id, REASON)


def test_an_accepted_claim_is_the_claimers(store, secret):
    placed = partner_order(store, secret)
    buyer = person("buyer", email=BUYER)
    users.register_me(store, buyer)
    claims.claim_entitlements(store, buyer, link(placed["claim_id"]))

    with pytest.raises(BoughtByYou, match="claim"):
        undo.disown_order(store, buyer, placed["order_id"], REASON)


def test_another_persons_order_is_not_found(store):
    order_id, _ = brought_by_proof(store)
    eve = person("eve", email="eve@example.com")
    users.register_me(store, eve)

    for order in (order_id, "no-such-order"):
        with pytest.raises(NotFound):
            undo.disown_order(store, eve, order, REASON)


def test_past_the_retention_time_the_disown_is_refused(store, aws):
    past = Store(store.db.name, aws, requests_table=store.requests_table, lineage_days=-1)
    sale = sell(past, "org-a", email=OWNER_EMAIL, phone=BOB_PHONE)
    bob = person("bob", phone=BOB_PHONE)
    users.register_me(past, bob)
    run_pending_links(past)  # the proof's move is kept with a retention time already past

    with pytest.raises(LineageExpired) as refused:
        undo.disown_order(store, bob, sale.order.order_id, REASON)
    assert refused.value.code == "lineage_expired"
    assert sale.order.order_id in orders_seen(store, bob)


# --- unlink ---------------------------------------------------------------------------------------------------
def attached_to_person(store):
    """An anonymous sale's profile an admin attached to the person who verified its email, with a stray phone
    captured as a hint; the person's history then holds its order."""
    anonymous = sell(store, "org-a")
    owner = person("owner", email=OWNER_EMAIL)
    users.register_me(store, owner)
    request = AttachIdentifierRequest(version=1, email=OWNER_EMAIL, phone=STRAY_PHONE)
    attached = org_console.attach_identifier(store, ADMIN, "org-a", anonymous.profile.profile_id, request)
    run_pending_links(store)
    assert orders_seen(store, owner) == {anonymous.order.order_id}
    return attached, owner, anonymous.order.order_id


def test_unlink_gives_the_profile_to_a_dormant_holder_and_the_persons_history_drops_it(store):
    attached, owner, order_id = attached_to_person(store)

    request = UnlinkRequest(version=attached.version)
    unlinked = unlink.unlink_profile(store, ADMIN, "org-a", attached.profile_id, request)
    published = run_pending_links(store)

    assert unlinked.needs_review and not unlinked.linked_account and unlinked.version == attached.version + 1
    assert orders_seen(store, owner) == set()
    assert [e.detail["to"] for e in published if e.detail_type == "ProfileUnlinked"] == ["dormant_holder"]
    stray = person("stray", phone=STRAY_PHONE)  # whoever proves the captured phone finds the profile
    users.register_me(store, stray)
    run_pending_links(store)
    assert orders_seen(store, stray) == {order_id}


def test_unlink_with_a_stale_version_is_refused(store):
    attached, _, _ = attached_to_person(store)
    with pytest.raises(StateConflict, match="stale"):
        unlink.unlink_profile(store, ADMIN, "org-a", attached.profile_id, UnlinkRequest(version=attached.version - 1))


def test_unlink_of_a_profile_never_linked_is_refused(store):
    owner = person("owner", email=OWNER_EMAIL)
    users.register_me(store, owner)
    request = OrderRequest.model_validate({"currency": "GBP", "payment_method": "card", "lines": LINES})
    bought = orders.place_consumer_order(store, owner, "org-a", request)
    orphan = sell(store, "org-a")

    for profile in (bought.order.profile_id, orphan.profile.profile_id):
        current = store.get_profile("org-a", profile)
        with pytest.raises(NotLinked) as refused:
            unlink.unlink_profile(store, ADMIN, "org-a", profile, UnlinkRequest(version=current.version))
        assert refused.value.code == "not_linked"
    with pytest.raises(NotFound):
        unlink.unlink_profile(store, ADMIN, "org-a", "no-such-profile", UnlinkRequest(version=1))


def test_unlink_of_a_profile_a_proof_linked_gives_it_to_a_new_holder_of_the_identifier_left(store):
    bob_email = "bob@example.com"
    sale = sell(store, "org-a", email=bob_email, phone=STRAY_PHONE)  # Bob's email, and a stranger's phone
    users.register_me(store, person("bob", phone=BOB_PHONE))
    bob = person("bob", email=bob_email, phone=BOB_PHONE)  # proves his email later: its holder links to him
    users.register_me(store, bob)
    run_pending_links(store)
    assert orders_seen(store, bob) == {sale.order.order_id}
    profile = store.get_profile("org-a", answer_profile(store, sale.order.order_id))
    assert [m.kind for m in store.moves_of("org-a", profile.profile_id, "profile")] == ["link"]

    unlink.unlink_profile(store, ADMIN, "org-a", profile.profile_id, UnlinkRequest(version=profile.version))
    run_pending_links(store)

    assert orders_seen(store, bob) == set()
    stranger = person("stranger", phone=STRAY_PHONE)
    users.register_me(store, stranger)
    run_pending_links(store)
    assert orders_seen(store, stranger) == {sale.order.order_id}


def test_unlink_with_nothing_left_to_hold_it_makes_an_orphan_and_takes_it_out_of_the_history(store):
    anonymous = sell(store, "org-a")
    owner = person("owner", email=OWNER_EMAIL)
    users.register_me(store, owner)
    request = AttachIdentifierRequest(version=1, email=OWNER_EMAIL)
    attached = org_console.attach_identifier(store, ADMIN, "org-a", anonymous.profile.profile_id, request)
    run_pending_links(store)
    assert orders_seen(store, owner) == {anonymous.order.order_id}

    request = UnlinkRequest(version=attached.version)
    unlinked = unlink.unlink_profile(store, ADMIN, "org-a", attached.profile_id, request)
    run_pending_links(store)

    assert store.get_profile("org-a", attached.profile_id).user_id is None and unlinked.needs_review
    assert orders_seen(store, owner) == set()
    keyed = [
        i for i in store.profile_partition("org-a", attached.profile_id) if "gsi1pk" in i and i["type"] != "profile"
    ]
    assert keyed == []
