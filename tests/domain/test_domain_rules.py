"""Domain rules on in-memory fakes of their ports (tests/domain/fakes.py): no table, no moto, no boto3. The
moto and HTTP tests keep covering the data layer and the wiring; these hold the rules themselves."""

from __future__ import annotations

from typing import Any

import pytest

from customer_profiles.domain.claims import claim_lifecycle
from customer_profiles.domain.claims.claim_tokens import claim_token, token_hash
from customer_profiles.domain.idempotency import under_key
from customer_profiles.domain.identity.proofs import bring_sales, place_sale, reached_at
from customer_profiles.domain.sales.orders import place_consumer_order
from customer_profiles.domain.sales.sale_plan import Customer, PlannedSale, plan_sale
from customer_profiles.domain.staff import org_console
from customer_profiles.domain.staff.access import acting_staff, require_staff_of
from customer_profiles.errors import Forbidden, IdempotencyKeyReused, NotFound
from customer_profiles.models.api import OrderRequest
from customer_profiles.models.domain import Claim, Identifier, Order, Profile, Proof, TypedIdentifier, User
from customer_profiles.models.principal import Principal
from tests.domain import fakes

ORG = "org-venue"
OTHER_ORG = "org-elsewhere"
NOW = "2027-03-01T10:00:00.000Z"
EMAIL: Identifier = ("email", "dana@example.com")
PHONE: Identifier = ("phone", "+447700900123")
ORDER = OrderRequest.model_validate(
    {
        "currency": "EUR",
        "payment_method": "card",
        "lines": [{"kind": "ticket", "item_id": "ev-2027-opening", "quantity": 2, "unit_price": 4500}],
    }
)
CLAIM_KEY = b"domain-rules-claim-key"


def person(user_id: str = "u-person", subject: str = "sub-person", **fields: Any) -> User:
    return User(user_id=user_id, status="active", subject=subject, created_at=NOW, updated_at=NOW, **fields)


def dormant(user_id: str = "u-dormant", **fields: Any) -> User:
    return User(user_id=user_id, status="dormant", created_at=NOW, updated_at=NOW, **fields)


def profile(profile_id: str, user_id: str | None, org_id: str = ORG, **fields: Any) -> Profile:
    return Profile(
        org_id=org_id, profile_id=profile_id, user_id=user_id, origin="pos", created_at=NOW, updated_at=NOW, **fields
    )


def user_principal(user: User) -> Principal:
    return Principal(kind="user", subject=user.subject or "", client_id="consumer-app", user_id=user.user_id)


def staff(org_id: str, *roles: str) -> Principal:
    return Principal(kind="staff", subject="till-1", client_id="staff-app", memberships={org_id: frozenset(roles)})


# --- a consumer's purchase: the user's profile in the org, created exactly once --------------------------------


def test_a_first_purchase_creates_the_profile_and_the_next_one_reuses_it() -> None:
    # Given a person with no profile in the org
    store = fakes.ConsumerOrders()
    buyer = store.add_user(person())

    # When they buy twice
    first = place_consumer_order(store, user_principal(buyer), ORG, ORDER)
    second = place_consumer_order(store, user_principal(buyer), ORG, ORDER)

    # Then the first purchase created their profile, in its own write, and the second went under it
    assert first.profile_created is True and second.profile_created is False
    assert [p.profile_id for p in store.created] == [first.order.profile_id]
    assert store.sales[0].new_profile is not None and store.sales[1].new_profile is None
    assert second.order.profile_id == first.order.profile_id
    assert store.sales[1].user_id == buyer.user_id and store.sales[1].holder_status == "active"


def test_a_first_purchase_that_loses_the_race_goes_under_the_winners_profile() -> None:
    # Given a concurrent first purchase that creates the person's profile just before ours commits
    store = fakes.ConsumerOrders()
    buyer = store.add_user(person())
    winner = profile("p-winner", buyer.user_id)
    store.before_write.append(lambda: store.add_profile(winner))

    # When our purchase is placed
    answer = place_consumer_order(store, user_principal(buyer), ORG, ORDER)

    # Then its retry read the winner's profile: one profile, and the order under it
    assert answer.profile_created is False
    assert answer.order.profile_id == winner.profile_id
    assert store.created == [winner]


def test_a_retry_with_the_same_key_gets_the_first_answer_and_writes_nothing() -> None:
    # Given a purchase made under an Idempotency-Key
    store = fakes.ConsumerOrders()
    buyer = store.add_user(person())
    once = under_key("place_consumer_order", caller=f"user:{buyer.user_id}", key="k-1", payload={"order": 1})
    first = place_consumer_order(store, user_principal(buyer), ORG, ORDER, once)

    # When it is sent again with the same key
    again = place_consumer_order(store, user_principal(buyer), ORG, ORDER, once)

    # Then the answer is the first one and nothing more was written
    assert again == first
    assert len(store.sales) == 1


def test_the_same_key_with_another_payload_is_refused() -> None:
    store = fakes.ConsumerOrders()
    buyer = store.add_user(person())
    caller = f"user:{buyer.user_id}"
    place_consumer_order(store, user_principal(buyer), ORG, ORDER, under_key("o", caller=caller, key="k", payload=1))

    with pytest.raises(IdempotencyKeyReused):
        place_consumer_order(
            store, user_principal(buyer), ORG, ORDER, under_key("o", caller=caller, key="k", payload=2)
        )
    assert len(store.sales) == 1


# --- a window sale's plan: where a sale typed with emails and phones goes ---------------------------------------


def window_plan(store: fakes.SalePlanning, *identifiers: Identifier, card: str | None = None) -> PlannedSale:
    return plan_sale(
        store,
        ORG,
        Customer(identifiers=list(identifiers), card_fingerprint=card),
        ORDER,
        payment_method="cash",
        channel="pos",
        origin="pos",
        proof=Proof(provenance="staff_captured", at=NOW, org_id=ORG),
    )


def test_a_sale_goes_to_the_person_who_verified_one_of_its_identifiers_before_any_dormant_holder() -> None:
    # Given the first identifier held as a hint by a dormant holder, the second verified by a person
    store = fakes.SalePlanning()
    store.add_user(dormant(email=EMAIL[1]), holds=[EMAIL])
    verified = store.add_user(person(phone=PHONE[1]), holds=[PHONE])

    # When staff sell to someone typed with both
    planned = window_plan(store, EMAIL, PHONE)

    # Then the sale goes to the person, reaches them at once, and leaves a pointer under the other identifier
    write = planned.write
    assert write.user_id == verified.user_id and write.holder_status == "active" and write.new_user is None
    assert planned.holder_active and write.order.reached_at == write.order.created_at
    assert write.pointers == [EMAIL]
    assert write.holdings == {EMAIL: store.holders[EMAIL], PHONE: store.holders[PHONE]}


def test_a_sale_nobody_verified_goes_to_the_dormant_holder_of_the_first_identifier_that_has_one() -> None:
    # Given the first identifier held by nobody, the second by a dormant holder that has a profile here
    store = fakes.SalePlanning()
    holder = store.add_user(dormant(phone=PHONE[1]), holds=[PHONE])
    theirs = store.add_profile(profile("p-dormant", holder.user_id))

    # When staff sell to someone typed with both
    planned = window_plan(store, EMAIL, PHONE)

    # Then the dormant holder keeps it, under its profile, until someone proves one of the identifiers
    write = planned.write
    assert write.user_id == holder.user_id and write.holder_status == "dormant"
    assert write.new_user is None and write.claimed_identifiers == [] and write.new_profile is None
    assert write.order.profile_id == theirs.profile_id and write.order.reached_at is None
    assert write.pointers == [EMAIL]
    assert write.holdings == {EMAIL: None, PHONE: store.holders[PHONE]}


def test_a_sale_typed_with_identifiers_nobody_holds_makes_a_dormant_holder_of_the_first() -> None:
    # Given identifiers nobody holds
    store = fakes.SalePlanning()

    # When staff sell to someone typed with both
    planned = window_plan(store, EMAIL, PHONE)

    # Then a new dormant holder holds the first (only that one), in a new profile; the second gets a pointer
    write = planned.write
    assert write.new_user is not None and write.new_user.status == "dormant"
    assert write.new_user.email == EMAIL[1] and write.new_user.phone is None
    assert write.user_id == write.new_user.user_id and write.holder_status is None
    assert write.claimed_identifiers == [EMAIL] and write.pointers == [PHONE]
    assert write.new_profile is not None and write.new_profile.user_id == write.new_user.user_id
    assert planned.profile_created and not planned.holder_active


def test_a_card_alone_finds_the_anonymous_profile_it_paid_for_before() -> None:
    store = fakes.SalePlanning()
    anonymous = store.add_profile(profile("p-anonymous", None, cards=["card-0001"]))
    store.cards[ORG, "card-0001"] = anonymous.profile_id

    planned = window_plan(store, card="card-0001")

    assert planned.write.new_profile is None and planned.write.order.profile_id == anonymous.profile_id
    assert planned.write.user_id is None


def test_a_card_never_leads_a_sale_to_a_person() -> None:
    # Given a card whose pointer names a profile a person holds (it was attached to them since)
    store = fakes.SalePlanning()
    owner = store.add_user(person())
    theirs = store.add_profile(profile("p-theirs", owner.user_id, cards=["card-0001"]))
    store.cards[ORG, "card-0001"] = theirs.profile_id

    # When staff sell for that card alone
    planned = window_plan(store, card="card-0001")

    # Then the sale goes to a new anonymous profile, which does not take the card over
    assert planned.write.new_profile is not None and planned.write.order.profile_id != theirs.profile_id
    assert planned.write.user_id is None and planned.write.new_profile.cards == []


# --- proof per sale ---------------------------------------------------------------------------------------------


def test_a_proof_places_a_sale_under_the_first_identifier_a_person_holds_whatever_the_order_typed() -> None:
    store = fakes.Users()
    store.add_user(dormant("u-d", email=EMAIL[1]), holds=[EMAIL])
    store.add_user(person("u-p", phone=PHONE[1]), holds=[PHONE])
    holders = store.identifier_holders([EMAIL, PHONE])

    for typed in ([EMAIL, PHONE], [PHONE, EMAIL]):
        placement = place_sale(typed, holders, NOW)
        assert placement.user_id == "u-p" and placement.holder_active and placement.new_holder is None
        assert placement.pointers == (EMAIL,)


def order(**fields: Any) -> Order:
    base = {
        "order_id": "o-1",
        "org_id": ORG,
        "profile_id": "p-1",
        "channel": "pos",
        "currency": "EUR",
        "payment_method": "cash",
        "lines": [],
        "total": 0,
        "created_at": "2027-03-02T09:00:00.000Z",
    }
    return Order.model_validate({**base, **fields})


def test_a_sale_under_a_dormant_holder_has_reached_nobody() -> None:
    assert reached_at(order(), profile("p-1", "u-d"), dormant("u-d")) is None
    assert reached_at(order(), profile("p-1", None), None) is None


def test_a_sale_reached_its_person_when_its_holder_became_theirs_or_when_it_was_made_if_later() -> None:
    activated = person("u-a", activated_at="2027-03-01T12:00:00.000Z")
    assert reached_at(order(), profile("p-1", "u-a"), activated) == "2027-03-02T09:00:00.000Z"
    early = order(created_at="2027-02-01T00:00:00.000Z")
    assert reached_at(early, profile("p-1", "u-a"), activated) == "2027-03-01T12:00:00.000Z"


def test_a_sale_keeps_when_it_moved_to_its_person_alone_and_a_profile_when_it_came_whole() -> None:
    activated = person("u-a", activated_at="2027-01-01T00:00:00.000Z")
    moved = order(reached_at="2027-04-01T00:00:00.000Z")
    assert reached_at(moved, profile("p-1", "u-a"), activated) == "2027-04-01T00:00:00.000Z"
    came_whole = profile("p-1", "u-a", reached_at="2027-03-05T00:00:00.000Z")
    assert reached_at(order(), came_whole, activated) == "2027-03-05T00:00:00.000Z"


def typed_order(profile_id: str, *, reached: str | None = None) -> Order:
    typed = [TypedIdentifier(kind=EMAIL[0], value=EMAIL[1], provenance="staff_captured")]
    return order(order_id="o-typed", profile_id=profile_id, typed=typed, reached_at=reached)


PROVEN_AT = "2027-03-10T00:00:00.000Z"


def test_a_proof_brings_a_sale_that_no_earlier_proof_reached_to_the_provers_profile() -> None:
    # Given a sale typed with an email, kept by the dormant holder of that email
    store = fakes.SaleProofs()
    holder = store.add_user(dormant("u-d", email=EMAIL[1]), holds=[EMAIL])
    kept = store.add_profile(profile("p-d", holder.user_id))
    pointer = store.add_typed_sale(typed_order(kept.profile_id))
    prover = store.add_user(person("u-p"))

    # When a person proves the email
    events = bring_sales(store, EMAIL, prover.user_id, PROVEN_AT)

    # Then the sale moves from the holder's profile to the prover's profile in the org, created for it
    assert [m.order.order_id for m in store.moves] == ["o-typed"]
    move = store.moves[0]
    assert move.source == kept and move.holder == holder and move.typed == pointer
    assert move.target.user_id == prover.user_id and move.target.profile_id != kept.profile_id
    assert [p.profile_id for p in store.created] == [kept.profile_id, move.target.profile_id]
    assert [e.detail["sales"] for e in events] == [
        [{"org_id": ORG, "order_id": "o-typed", "profile_id": move.target.profile_id}]
    ]
    assert store.typed_sales(EMAIL) == []


def test_a_sale_an_earlier_proof_reached_stays_and_the_later_provers_identifier_leaves_it() -> None:
    # Given a sale that reached another person (who proved another of its identifiers) before this proof
    store = fakes.SaleProofs()
    owner = store.add_user(person("u-owner"))
    theirs = store.add_profile(profile("p-owner", owner.user_id))
    store.add_typed_sale(typed_order(theirs.profile_id, reached="2027-03-05T00:00:00.000Z"))
    prover = store.add_user(person("u-p"))

    # When a person proves the email later
    events = bring_sales(store, EMAIL, prover.user_id, PROVEN_AT)

    # Then the sale stays with its owner, the email leaves it, its pointer goes, and nothing is announced
    assert store.moves == [] and events == []
    assert store.forgotten == [(EMAIL, "o-typed")]
    assert store.typed_sales(EMAIL) == []


def test_a_sale_a_later_proof_reached_goes_to_the_earlier_prover() -> None:
    # Given a sale that reached someone by a proof made after this one (proofs race)
    store = fakes.SaleProofs()
    owner = store.add_user(person("u-owner"))
    theirs = store.add_profile(profile("p-owner", owner.user_id))
    store.add_typed_sale(typed_order(theirs.profile_id, reached="2027-03-11T00:00:00.000Z"))
    prover = store.add_user(person("u-p"))

    # When the earlier proof is applied
    bring_sales(store, EMAIL, prover.user_id, PROVEN_AT)

    # Then the sale moves to the earlier prover
    assert [m.target.user_id for m in store.moves] == [prover.user_id]
    assert store.moves[0].source == theirs


def test_a_sale_that_went_to_a_person_as_it_was_made_stays_whenever_an_earlier_proof_runs() -> None:
    # Given a sale placed with its owner as it was made (they proved the identifier typed first)
    store = fakes.SaleProofs()
    owner = store.add_user(person("u-owner"))
    theirs = store.add_profile(profile("p-owner", owner.user_id))
    store.add_typed_sale(typed_order(theirs.profile_id, reached="2027-03-11T00:00:00.000Z"), placed_with_person=True)
    prover = store.add_user(person("u-p"))

    # When the effect of a proof made before the sale runs only now (delayed, or redelivered)
    events = bring_sales(store, EMAIL, prover.user_id, PROVEN_AT)

    # Then the sale stays with its owner; the prover's identifier leaves it with its pointer
    assert store.moves == [] and events == []
    assert store.forgotten == [(EMAIL, "o-typed")]
    assert store.typed_sales(EMAIL) == []


# --- who may act where ----------------------------------------------------------------------------------------


def test_staff_of_another_org_see_no_such_org() -> None:
    with pytest.raises(NotFound):
        require_staff_of(staff(OTHER_ORG, "admin"), ORG, any_role=frozenset({"admin"}))


def test_staff_without_the_role_are_forbidden() -> None:
    with pytest.raises(Forbidden):
        require_staff_of(staff(ORG, "viewer"), ORG, any_role=frozenset({"pos"}))


def test_staff_of_another_org_read_no_profile_and_nothing_is_read() -> None:
    with pytest.raises(NotFound):
        org_console.read_profile(fakes.Untouchable(), staff(OTHER_ORG, "admin"), ORG, "p-1", limit=10, cursor=None)


def test_the_acting_store_checks_the_members_roles_in_their_org() -> None:
    store = fakes.StaffScoped()

    acting = acting_staff(store, staff(ORG, "pos"), ORG, any_role=frozenset({"pos"}))

    assert acting is store
    assert store.scopes == [(ORG, "till-1", frozenset({"pos"}))]


def test_another_orgs_claim_looks_like_none_to_staff() -> None:
    # Given a claim of another org
    store = fakes.Claims()
    claim = Claim(
        claim_id="c-1",
        org_id=OTHER_ORG,
        partner_id="partner-1",
        profile_id="p-1",
        order_id="o-1",
        entitlement_ids=["e-1"],
        email=EMAIL[1],
        status="open",
        expires_at="2027-04-01T00:00:00.000Z",
        created_at=NOW,
    )
    store.claims[token_hash(claim_token(claim.claim_id, CLAIM_KEY))] = claim

    # When staff of this org look for it by its id
    with pytest.raises(NotFound):
        claim_lifecycle.staff_claim(store, staff(ORG, "admin"), ORG, claim.claim_id, CLAIM_KEY)

    # Then staff of the claim's org find it
    _, _, found = claim_lifecycle.staff_claim(store, staff(OTHER_ORG, "pos"), OTHER_ORG, claim.claim_id, CLAIM_KEY)
    assert found == claim
