"""Point of sale and the org staff API on moto."""

import json
from collections import Counter

import pytest

import org_api
from customer_profiles.domain.identity import users
from customer_profiles.domain.sales import pos
from customer_profiles.domain.staff import org_console
from customer_profiles.edge import secrets as secret_store
from customer_profiles.errors import Conflict, Forbidden, InvalidInput, NotFound
from customer_profiles.models.api import AttachIdentifierRequest, PosSaleRequest, ProfileUpdateRequest
from tests.unit.conftest import FakeContext, api_event, staff_principal, user_principal

ORG = "org-venue"
SELLER = staff_principal("till-1", ORG, "pos")
ADMIN = staff_principal("manager", ORG, "admin")
VIEWER = staff_principal("auditor", ORG, "viewer")
LINES = [{"kind": "ticket", "item_id": "ev-1", "quantity": 2, "unit_price": 2500}]


def sale(payment_method="cash", **customer):
    return PosSaleRequest.model_validate(
        {"currency": "GBP", "payment_method": payment_method, "lines": LINES, "customer": customer}
    )


def holder_of(store, kind, value):
    holding = store.identifier_holders([(kind, value)]).get((kind, value))
    return holding.user_id if holding else None


def test_an_anonymous_cash_sale_makes_an_orphaned_profile_that_parents_the_entitlements(store):
    result = pos.create_pos_sale(store, SELLER, ORG, sale(), receipt_keys=secret_store.receipt_code_keys)

    assert result.profile_created and result.profile.origin == "pos"
    assert result.profile.linked_account is False
    profile, orders, entitlements = store.profile_with_children(ORG, result.profile.profile_id)
    assert profile.user_id is None
    assert [o.order_id for o in orders] == [result.order.order_id]
    assert len(entitlements) == 2 and {e.status for e in entitlements} == {"active"}


def test_two_anonymous_cash_sales_are_two_orphans(store):
    first = pos.create_pos_sale(store, SELLER, ORG, sale(), receipt_keys=secret_store.receipt_code_keys)
    second = pos.create_pos_sale(store, SELLER, ORG, sale(), receipt_keys=secret_store.receipt_code_keys)

    assert first.profile.profile_id != second.profile.profile_id


def test_a_card_fingerprint_alone_links_repeat_card_purchases_but_never_to_a_user(store):
    first = pos.create_pos_sale(
        store, SELLER, ORG, sale("card", card_fingerprint="fp_card_0001"), receipt_keys=secret_store.receipt_code_keys
    )
    second = pos.create_pos_sale(
        store, SELLER, ORG, sale("card", card_fingerprint="fp_card_0001"), receipt_keys=secret_store.receipt_code_keys
    )

    assert second.profile.profile_id == first.profile.profile_id and not second.profile_created
    assert store.get_profile(ORG, first.profile.profile_id).user_id is None


def test_a_card_fingerprint_is_org_scoped(store):
    here = pos.create_pos_sale(
        store, SELLER, ORG, sale("card", card_fingerprint="fp_card_0002"), receipt_keys=secret_store.receipt_code_keys
    )
    other_seller = staff_principal("till-9", "org-other", "pos")

    there = pos.create_pos_sale(
        store,
        other_seller,
        "org-other",
        sale("card", card_fingerprint="fp_card_0002"),
        receipt_keys=secret_store.receipt_code_keys,
    )

    assert there.profile_created and there.profile.profile_id != here.profile.profile_id


def test_an_email_creates_a_dormant_user_holding_it_and_the_profile_is_its_child(store):
    result = pos.create_pos_sale(store, SELLER, ORG, sale(email="New.Person@Example.com", given_name="Nia"))

    user_id = holder_of(store, "email", "new.person@example.com")
    user = store.get_user(user_id)
    assert user.status == "dormant" and user.subject is None
    assert store.get_profile(ORG, result.profile.profile_id).user_id == user_id
    assert store.profile_id_of_user_in_org(user_id, ORG) == result.profile.profile_id
    assert result.profile.linked_account is False  # dormant: not a registered account
    assert result.profile.captured.email == "new.person@example.com"


def test_a_phone_is_normalised_with_the_orgs_default_region(store):
    store.configure_org(ORG, default_region="GB", now="2026-01-01T00:00:00Z")

    pos.create_pos_sale(store, SELLER, ORG, sale(phone="07911 123456"))

    assert store.get_user(holder_of(store, "phone", "+447911123456")).status == "dormant"


def test_email_and_phone_make_a_dormant_holder_of_the_email_only(store):
    # One identifier per dormant holder: proving the phone must not bring what was typed with the email alone.
    result = pos.create_pos_sale(store, SELLER, ORG, sale(email="both@example.com", phone="+14155552671"))

    assert holder_of(store, "email", "both@example.com") == store.get_profile(ORG, result.profile.profile_id).user_id
    assert holder_of(store, "phone", "+14155552671") is None


def test_an_existing_active_users_identifier_lands_the_sale_on_their_profile(store):
    person = user_principal(email="regular@example.com", email_verified=True)
    active, _ = users.register_me(store, person)

    result = pos.create_pos_sale(store, SELLER, ORG, sale(email="regular@example.com"))

    assert store.get_profile(ORG, result.profile.profile_id).user_id == active.user_id
    assert result.profile.linked_account is True
    assert store.get_user(active.user_id).status == "active"


def test_a_repeat_customer_reuses_the_profile_of_their_dormant_user(store):
    first = pos.create_pos_sale(store, SELLER, ORG, sale(email="again@example.com"))
    second = pos.create_pos_sale(store, SELLER, ORG, sale(email="again@example.com", phone="+14155552671"))

    assert second.profile.profile_id == first.profile.profile_id and not second.profile_created
    # The new phone is only a hint about an existing user: it is not attached to them.
    assert holder_of(store, "phone", "+14155552671") is None


def test_an_existing_dormant_user_gets_a_profile_in_a_second_org(store):
    pos.create_pos_sale(store, SELLER, ORG, sale(email="traveller@example.com"))
    seller_b = staff_principal("till-b", "org-b", "pos")

    result = pos.create_pos_sale(store, seller_b, "org-b", sale(email="traveller@example.com"))

    user_id = holder_of(store, "email", "traveller@example.com")
    assert result.profile_created
    assert store.get_profile("org-b", result.profile.profile_id).user_id == user_id


@pytest.mark.parametrize(
    ("customer", "field"),
    [
        ({"email": "not-an-email"}, "customer.email"),
        ({"phone": "12"}, "customer.phone"),
        ({"phone": "07911 123456"}, "customer.phone"),
    ],  # no default region configured
)
def test_invalid_identifiers_are_refused_naming_the_field(store, customer, field):
    with pytest.raises(InvalidInput) as refused:
        pos.create_pos_sale(store, SELLER, ORG, sale(**customer))

    assert refused.value.field == field


def test_staff_of_another_org_and_users_cannot_sell_here(store):
    other = staff_principal("till-x", "org-other", "pos")

    with pytest.raises(NotFound):
        pos.create_pos_sale(store, other, ORG, sale())
    with pytest.raises(NotFound):
        pos.create_pos_sale(store, user_principal(), ORG, sale())
    with pytest.raises(Forbidden):
        pos.create_pos_sale(store, VIEWER, ORG, sale())


def test_a_sale_with_a_new_email_takes_few_requests(store):
    store.db.client.meta.events.register("before-call.dynamodb.*", lambda model, **_: counter.update([model.name]))
    counter: Counter[str] = Counter()

    pos.create_pos_sale(store, SELLER, ORG, sale(email="count@example.com"))

    # the key's answer with the identifiers' holders, then one transaction
    assert counter == Counter({"BatchGetItem": 1, "TransactWriteItems": 1})


def test_a_repeat_sale_takes_few_requests(store):
    pos.create_pos_sale(store, SELLER, ORG, sale(email="count2@example.com"))
    counter: Counter[str] = Counter()
    store.db.client.meta.events.register("before-call.dynamodb.*", lambda model, **_: counter.update([model.name]))

    pos.create_pos_sale(store, SELLER, ORG, sale(email="count2@example.com"))

    # the key's answer with the holders, the holder's profile (by-user index, checked by the write), the write
    assert counter == Counter({"BatchGetItem": 1, "Query": 1, "TransactWriteItems": 1})


# --- the staff API -------------------------------------------------------------------------------
def test_search_by_email_phone_and_name_prefix_finds_only_this_orgs_profiles(store):
    store.configure_org(ORG, default_region="GB", now="2026-01-01T00:00:00Z")
    made = pos.create_pos_sale(
        store,
        SELLER,
        ORG,
        sale(email="zoe@example.com", phone="07911 123456", given_name="Zoë", family_name="Ångström"),
    )
    seller_b = staff_principal("till-b", "org-b", "pos")
    pos.create_pos_sale(store, seller_b, "org-b", sale(email="zoe@example.com", given_name="Zoe"))

    def found(**search):
        ((by, value),) = search.items()
        listing = org_console.list_profiles(store, VIEWER, ORG, search=(by, value), limit=10, cursor=None)
        return [p.profile_id for p in listing.profiles]

    expected = [made.profile.profile_id]
    assert found(email="ZOE@example.com") == expected
    assert found(phone="+44 7911 123456") == expected
    assert found(name="zo") == expected
    assert found(name="angst") == expected
    assert found(name="zz") == []


def test_listing_is_newest_first_and_pages_without_gaps(store):
    made = [
        pos.create_pos_sale(store, SELLER, ORG, sale(), receipt_keys=secret_store.receipt_code_keys).profile.profile_id
        for _ in range(7)
    ]

    seen, cursor = [], None
    while True:
        page = org_console.list_profiles(store, VIEWER, ORG, search=None, limit=3, cursor=cursor)
        seen += [p.profile_id for p in page.profiles]
        cursor = page.next_cursor
        if not cursor:
            break

    assert seen == list(reversed(made))


def test_reading_a_profile_gives_its_orders_and_entitlements_but_never_the_user(store):
    made = pos.create_pos_sale(store, SELLER, ORG, sale(email="reader@example.com"))

    detail = org_console.read_profile(store, VIEWER, ORG, made.profile.profile_id, limit=25, cursor=None)

    assert [o.order_id for o in detail.orders] == [made.order.order_id]
    assert len(detail.entitlements) == 2
    assert "user_id" not in json.dumps(detail.model_dump(mode="json"))


def test_another_orgs_profile_is_404(store):
    made = pos.create_pos_sale(store, SELLER, ORG, sale(), receipt_keys=secret_store.receipt_code_keys)
    foreign = staff_principal("spy", "org-spy", "admin", "viewer")

    with pytest.raises(NotFound):
        org_console.read_profile(store, foreign, "org-spy", made.profile.profile_id, limit=25, cursor=None)
    with pytest.raises(NotFound):
        org_console.read_profile(store, foreign, ORG, made.profile.profile_id, limit=25, cursor=None)


def test_admins_update_attributes_with_optimistic_concurrency(store):
    made = pos.create_pos_sale(store, SELLER, ORG, sale(given_name="Ola"), receipt_keys=secret_store.receipt_code_keys)
    update = ProfileUpdateRequest.model_validate({"version": 1, "attributes": {"display_name": "Ola N."}})

    updated = org_console.update_profile(store, ADMIN, ORG, made.profile.profile_id, update)

    assert updated.version == 2 and updated.attributes.display_name == "Ola N."
    with pytest.raises(Conflict):
        org_console.update_profile(store, ADMIN, ORG, made.profile.profile_id, update)
    with pytest.raises(Forbidden):
        org_console.update_profile(store, VIEWER, ORG, made.profile.profile_id, update)


def test_attaching_an_email_to_an_orphan_makes_it_a_dormant_users_child(store):
    orphan = pos.create_pos_sale(store, SELLER, ORG, sale(), receipt_keys=secret_store.receipt_code_keys).profile

    attached = org_console.attach_identifier(
        store, ADMIN, ORG, orphan.profile_id, AttachIdentifierRequest(version=1, email="late@example.com")
    )

    user_id = holder_of(store, "email", "late@example.com")
    assert store.get_user(user_id).status == "dormant"
    assert store.get_profile(ORG, orphan.profile_id).user_id == user_id
    assert attached.version == 2 and attached.captured.email == "late@example.com"
    assert (
        org_console.list_profiles(store, VIEWER, ORG, search=("email", "late@example.com"), limit=5, cursor=None)
        .profiles[0]
        .profile_id
        == orphan.profile_id
    )


def test_attaching_finds_an_existing_user_and_refuses_a_second_profile_in_the_org(store):
    pos.create_pos_sale(store, SELLER, ORG, sale(email="known@example.com"))
    orphan = pos.create_pos_sale(store, SELLER, ORG, sale(), receipt_keys=secret_store.receipt_code_keys).profile

    with pytest.raises(Conflict):
        org_console.attach_identifier(
            store, ADMIN, ORG, orphan.profile_id, AttachIdentifierRequest(version=1, email="known@example.com")
        )
    assert store.get_profile(ORG, orphan.profile_id).user_id is None


def test_attaching_to_a_profile_that_has_an_account_is_a_conflict(store):
    made = pos.create_pos_sale(store, SELLER, ORG, sale(email="owned@example.com")).profile

    with pytest.raises(Conflict):
        org_console.attach_identifier(
            store, ADMIN, ORG, made.profile_id, AttachIdentifierRequest(version=1, email="other@example.com")
        )


def test_voiding_an_entitlement_is_state_guarded_and_idempotent(store):
    made = pos.create_pos_sale(store, SELLER, ORG, sale(), receipt_keys=secret_store.receipt_code_keys)
    entitlement = made.entitlements[0]

    voided = org_console.void_entitlement(store, ADMIN, ORG, made.profile.profile_id, entitlement.entitlement_id)
    again = org_console.void_entitlement(store, ADMIN, ORG, made.profile.profile_id, entitlement.entitlement_id)

    assert voided.status == again.status == "void"
    with pytest.raises(NotFound):
        org_console.void_entitlement(store, ADMIN, ORG, made.profile.profile_id, "no-such-entitlement")


# --- the handler ------------------------------------------------------------------------------------
@pytest.mark.usefixtures("reset_handler_caches")
def test_a_retried_sale_with_the_same_key_is_one_sale(store):
    event = api_event("org-api-post-pos-sale.json")

    first = org_api.handler(event, FakeContext())
    retry = org_api.handler(event, FakeContext())

    assert first["statusCode"] == retry["statusCode"] == 201
    assert json.loads(first["body"]) == json.loads(retry["body"])
    profile_id = json.loads(first["body"])["profile"]["profile_id"]
    assert len(store.profile_with_children("org-demo", profile_id)[1]) == 1


@pytest.mark.usefixtures("reset_handler_caches")
def test_a_full_id_number_is_refused():
    event = api_event("org-api-post-pos-sale.json")
    body = json.loads(event["body"])
    body["customer"]["id_document"]["last_digits"] = "123456789"
    event["body"] = json.dumps(body)

    response = org_api.handler(event, FakeContext())

    assert response["statusCode"] == 422


@pytest.mark.usefixtures("reset_handler_caches")
def test_two_search_fields_at_once_are_422():
    event = api_event("org-api-list-profiles.json")
    event["queryStringParameters"] = {"name": "a", "email": "a@example.com"}
    event["multiValueQueryStringParameters"] = {"name": ["a"], "email": ["a@example.com"]}

    response = org_api.handler(event, FakeContext())

    assert response["statusCode"] == 422
