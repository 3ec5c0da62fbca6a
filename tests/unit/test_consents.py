"""Consent with its provenance, on moto: the latest statement wins by time, whoever sent it and whenever it
arrived; never inferred; kept through merges."""

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import app_api
import org_api
import signed_messages
from customer_profiles.domain.identity import linking, profiles, registration, users
from customer_profiles.domain.privacy import consents
from customer_profiles.domain.sales import pos
from customer_profiles.edge import secrets as secret_store
from customer_profiles.errors import ConsentIsThePersons, Forbidden, InvalidInput, NotFound
from customer_profiles.models.api import PosSaleRequest
from customer_profiles.models.consents import ConsentsRequest
from customer_profiles.models.domain import Partner
from tests.unit.conftest import FakeContext, api_event, staff_principal, user_principal
from tests.unit.test_linking import run_pending_links
from tests.unit.test_partners import PARTNER, new_secret, order_body, signed

ORG = "org-arena"
SELLER = staff_principal("till-1", ORG, "pos")
ADMIN = staff_principal("manager", ORG, "admin")
VIEWER = staff_principal("auditor", ORG, "viewer")
LINES = [{"kind": "ticket", "item_id": "ev-1", "quantity": 1, "unit_price": 2500}]


def at(minutes: int) -> str:
    return (datetime(2025, 3, 1, 12, 0, tzinfo=UTC) + timedelta(minutes=minutes)).isoformat()


def said(*statements):
    return ConsentsRequest.model_validate(
        {"consents": [{"purpose": p, "status": s, **({"stated_at": t} if t else {})} for p, s, t in statements]}
    )


def status_of(answer, purpose="marketing_email"):
    return next(c for c in answer.consents if c.purpose == purpose)


def anonymous_sale(store, **extra):
    request = PosSaleRequest.model_validate({"currency": "GBP", "payment_method": "cash", "lines": LINES, **extra})
    return pos.create_pos_sale(store, SELLER, ORG, request, receipt_keys=secret_store.receipt_code_keys)


def a_person_with_a_profile(store, client_id="consumer-app"):
    principal = user_principal(client_id=client_id)
    registration.register(store, principal)
    user_id = users.current_user_id(store, principal)
    from customer_profiles.domain.identity.profiles import ensure_user_profile

    profile_id, _ = ensure_user_profile(store, user_id, ORG, origin="consumer")
    return principal, profile_id


def test_a_new_profile_has_no_consent_every_purpose_is_unknown(store):
    profile_id = anonymous_sale(store).profile.profile_id

    current = store.consents_of(ORG, profile_id)
    view = consents.my_consents(store, store.get_profile(ORG, profile_id))

    assert current == {}
    assert {(c.purpose, c.status, c.stated_at, c.source) for c in view.consents} == {
        ("marketing_email", "unknown", None, None),
        ("marketing_sms", "unknown", None, None),
    }


def test_an_older_statement_arriving_later_changes_nothing_and_answers_the_current_state(store):
    profile_id = anonymous_sale(store).profile.profile_id
    consents.record_by_staff(store, ADMIN, ORG, profile_id, said(("marketing_email", "granted", at(10))))

    answer = consents.record_by_staff(store, SELLER, ORG, profile_id, said(("marketing_email", "withdrawn", at(5))))

    assert (status_of(answer).status, status_of(answer).stated_at) == ("granted", "2025-03-01T12:10:00.000Z")
    assert store.consents_of(ORG, profile_id)["marketing_email"].actor_subject == "manager"


def test_a_newer_statement_wins_and_records_who_captured_it(store):
    profile_id = anonymous_sale(store).profile.profile_id
    consents.record_by_staff(store, ADMIN, ORG, profile_id, said(("marketing_email", "granted", at(10))))

    answer = consents.record_by_staff(store, SELLER, ORG, profile_id, said(("marketing_email", "withdrawn", at(11))))

    mine = status_of(answer)
    assert (mine.status, mine.source) == ("withdrawn", "pos")
    assert mine.captured_by.model_dump(exclude_none=True) == {"kind": "staff", "subject": "till-1", "role": "pos"}


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    statuses=st.lists(st.sampled_from(["granted", "withdrawn"]), min_size=1, max_size=5),
    data=st.data(),
)
def test_any_arrival_order_ends_in_the_latest_statement(store, statuses, data):
    # Given statements with distinct times, sent in any order
    profile_id = anonymous_sale(store).profile.profile_id
    statements = [(minute * 7, status) for minute, status in enumerate(statuses)]
    arrival = data.draw(st.permutations(statements))

    for minute, status in arrival:
        consents.record_by_staff(store, ADMIN, ORG, profile_id, said(("marketing_sms", status, at(minute))))

    # Then the latest by time is the current one, whatever order they came in
    current = store.consents_of(ORG, profile_id)["marketing_sms"]
    assert (current.status, current.stated_at) == (
        statuses[-1],
        "2025-03-01T12:" + f"{(len(statuses) - 1) * 7:02d}:00.000Z",
    )


def test_ties_at_the_same_instant_are_decided_the_same_way_whatever_the_order(store):
    # Given a grant and a withdrawal said at the same instant through the window, in both arrival orders
    first = anonymous_sale(store).profile.profile_id
    second = anonymous_sale(store).profile.profile_id
    for profile_id, order in ((first, ("granted", "withdrawn")), (second, ("withdrawn", "granted"))):
        for status in order:
            consents.record_by_staff(store, ADMIN, ORG, profile_id, said(("marketing_email", status, at(0))))

    # Then both profiles end the same: the withdrawal (the cautious reading)
    assert store.consents_of(ORG, first)["marketing_email"].status == "withdrawn"
    assert store.consents_of(ORG, second)["marketing_email"].status == "withdrawn"


def test_staff_cannot_state_consent_for_a_customer_who_has_an_account(store):
    principal, profile_id = a_person_with_a_profile(store)
    consents.set_my_consents(store, principal, ORG, said(("marketing_email", "granted", at(0))))

    with pytest.raises(ConsentIsThePersons):
        consents.record_by_staff(store, ADMIN, ORG, profile_id, said(("marketing_email", "withdrawn", at(5))))

    current = store.consents_of(ORG, profile_id)["marketing_email"]
    assert (current.status, current.source) == ("granted", "app")


def test_a_later_statement_relayed_at_the_window_never_overrides_the_persons_own(store):
    # The person withdrew in the app; later a window sale typed with their phone (not yet proven) got a grant
    # recorded by staff; when they prove the phone, the window's profile merges into theirs.
    person = user_principal(email="pat@example.com", email_verified=True)
    users.register_me(store, person)
    profiles.ensure_user_profile(store, users.current_user_id(store, person), ORG, origin="consumer")
    consents.set_my_consents(store, person, ORG, said(("marketing_email", "withdrawn", at(0))))
    window = pos.create_pos_sale(
        store,
        SELLER,
        ORG,
        PosSaleRequest.model_validate(
            {"currency": "GBP", "payment_method": "cash", "lines": LINES, "customer": {"phone": "+447911123456"}}
        ),
    )
    consents.record_by_staff(store, ADMIN, ORG, window.profile.profile_id, said(("marketing_email", "granted", at(5))))

    users.register_me(store, replace(person, phone_number="+447911123456", phone_number_verified=True))
    run_pending_links(store)

    mine = profiles.user_profile_in_org(store, users.current_user_id(store, person), ORG)
    current = store.consents_of(ORG, mine.profile_id)["marketing_email"]
    assert (current.status, current.source) == ("withdrawn", "app")


def test_the_same_statement_again_changes_nothing(store):
    profile_id = anonymous_sale(store).profile.profile_id
    consents.record_by_staff(store, ADMIN, ORG, profile_id, said(("marketing_email", "granted", at(1))))
    before = store.db.get({"pk": f"ORG#{ORG}#PROFILE#{profile_id}", "sk": "CONSENT#marketing_email"})

    consents.record_by_staff(store, ADMIN, ORG, profile_id, said(("marketing_email", "granted", at(1))))

    after = store.db.get({"pk": f"ORG#{ORG}#PROFILE#{profile_id}", "sk": "CONSENT#marketing_email"})
    assert after == before  # recorded_at too: nothing was written


def test_the_item_carries_what_the_activity_trail_shows(store):
    profile_id = anonymous_sale(store).profile.profile_id
    consents.record_by_staff(store, SELLER, ORG, profile_id, said(("marketing_sms", "granted", None)))

    item = store.db.get({"pk": f"ORG#{ORG}#PROFILE#{profile_id}", "sk": "CONSENT#marketing_sms"})

    assert {k: item[k] for k in ("type", "purpose", "status", "source", "actor_subject", "actor_role")} == {
        "type": "consent",
        "purpose": "marketing_sms",
        "status": "granted",
        "source": "pos",
        "actor_subject": "till-1",
        "actor_role": "pos",
    }


def test_the_person_sets_theirs_through_the_app_or_a_white_label_app(store):
    store.register_app_client("arena-app", ORG, "2026-01-01T00:00:00Z")
    consumer, _ = a_person_with_a_profile(store)
    white_label, _ = a_person_with_a_profile(store, client_id="arena-app")

    through_app = consents.set_my_consents(store, consumer, ORG, said(("marketing_email", "granted", None)))
    through_white_label = consents.set_my_consents(store, white_label, ORG, said(("marketing_email", "granted", None)))

    assert status_of(through_app).source == "app" and status_of(through_app).captured_by is None
    assert status_of(through_white_label).source == "white_label"


def test_staff_roles_a_viewer_is_forbidden_another_org_is_not_found(store):
    profile_id = anonymous_sale(store).profile.profile_id

    with pytest.raises(Forbidden):
        consents.record_by_staff(store, VIEWER, ORG, profile_id, said(("marketing_email", "granted", None)))
    with pytest.raises(NotFound):
        other = staff_principal("stranger", "org-other", "admin")
        consents.record_by_staff(store, other, ORG, profile_id, said(("marketing_email", "granted", None)))
    assert store.consents_of(ORG, profile_id) == {}


def test_a_statement_dated_in_the_future_is_invalid(store):
    profile_id = anonymous_sale(store).profile.profile_id
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).isoformat()

    with pytest.raises(InvalidInput) as error:
        consents.record_by_staff(store, ADMIN, ORG, profile_id, said(("marketing_email", "granted", tomorrow)))

    assert error.value.field == "consents.0.stated_at"


def test_a_sale_records_consents_with_the_sales_profile(store):
    sold = anonymous_sale(store, consents=[{"purpose": "marketing_email", "status": "granted", "stated_at": at(0)}])

    current = store.consents_of(ORG, sold.profile.profile_id)["marketing_email"]
    assert (current.status, current.source, current.actor_subject, current.actor_role) == (
        "granted",
        "pos",
        "till-1",
        "pos",
    )


def test_a_sale_with_an_older_consent_is_made_and_leaves_the_newer_consent(store):
    first = anonymous_sale(store, customer={"email": "dana@example.com"})
    profile_id = first.profile.profile_id
    consents.record_by_staff(store, ADMIN, ORG, profile_id, said(("marketing_email", "granted", at(10))))

    again = anonymous_sale(
        store,
        customer={"email": "dana@example.com"},
        consents=[{"purpose": "marketing_email", "status": "withdrawn", "stated_at": at(5)}],
    )

    assert again.profile.profile_id == profile_id and again.order.order_id != first.order.order_id
    assert store.consents_of(ORG, profile_id)["marketing_email"].status == "granted"


def test_a_partner_order_records_consents_with_the_partner_as_actor(store, tmp_path):
    secret = new_secret()
    (tmp_path / "partner-secrets.json").write_text(json.dumps({PARTNER: [secret]}))
    store.put_partner(Partner(partner_id=PARTNER, display_name="Resale Co", org_ids=[ORG]), "2026-01-01T00:00:00Z")
    body = order_body(consents=[{"purpose": "marketing_sms", "status": "granted", "stated_at": at(0)}])

    signed_messages.receive(store, PARTNER, signed(secret, body), body, claim_days=30)

    (profile,) = store.all_profiles_of_user(
        store.identifier_holders([("email", "buyer@example.com")])[("email", "buyer@example.com")].user_id
    )
    current = store.consents_of(ORG, profile.profile_id)["marketing_sms"]
    assert (current.status, current.source, current.actor_partner_id) == ("granted", "partner", PARTNER)


def test_a_merge_keeps_the_latest_statement_per_purpose(store):
    # Given two profiles: the source said newer about email, the target newer about sms
    source = anonymous_sale(store).profile.profile_id
    target = anonymous_sale(store).profile.profile_id
    consents.record_by_staff(
        store, ADMIN, ORG, source, said(("marketing_email", "granted", at(20)), ("marketing_sms", "granted", at(1)))
    )
    consents.record_by_staff(
        store, ADMIN, ORG, target, said(("marketing_email", "withdrawn", at(2)), ("marketing_sms", "withdrawn", at(30)))
    )

    # When the source merges into the target
    linking.merge_profile_into(store, store.get_profile(ORG, source), store.get_profile(ORG, target), at(40))

    # Then the target holds the later statement of each purpose, and the merged profile none
    current = store.consents_of(ORG, target)
    assert (current["marketing_email"].status, current["marketing_email"].stated_at) == (
        "granted",
        "2025-03-01T12:20:00.000Z",
    )
    assert current["marketing_sms"].status == "withdrawn"
    assert store.consents_of(ORG, source) == {}


@pytest.mark.usefixtures("reset_handler_caches")
def test_the_routes_answer_consents_in_both_views_and_a_bad_body_is_a_422_with_its_field(store):
    # Given a person with a profile in the org (the committed event's caller)
    principal, profile_id = a_person_with_a_profile(store)
    body = {"consents": [{"purpose": "marketing_email", "status": "granted", "stated_at": at(0)}]}
    put = api_event(
        "app-api-put-my-consents.json",
        principal=principal,
        path=f"/v1/orgs/{ORG}/profile/consents",
        pathParameters={"org_id": ORG},
        body=json.dumps(body),
    )

    assert app_api.handler(put, FakeContext())["statusCode"] == 200
    mine = api_event(
        "app-api-get-my-org-profile.json",
        principal=principal,
        path=f"/v1/orgs/{ORG}/profile",
        pathParameters={"org_id": ORG},
    )
    shown = json.loads(app_api.handler(mine, FakeContext())["body"])["consents"]
    assert {c["purpose"]: c["status"] for c in shown} == {"marketing_email": "granted", "marketing_sms": "unknown"}
    staff_view = api_event(
        "org-api-get-profile.json",
        principal=ADMIN,
        path=f"/v1/orgs/{ORG}/profiles/{profile_id}",
        pathParameters={"org_id": ORG, "profile_id": profile_id},
    )
    seen = json.loads(org_api.handler(staff_view, FakeContext())["body"])["consents"]
    assert [c["source"] for c in seen if c["status"] == "granted"] == ["app"]

    # When a body names an unknown purpose
    bad = {**put, "body": json.dumps({"consents": [{"purpose": "carrier_pigeon", "status": "granted"}]})}
    response = app_api.handler(bad, FakeContext())

    # Then a 422 names the field
    assert response["statusCode"] == 422
    assert "consents.0.purpose" in response["body"]


@pytest.mark.parametrize(
    "body",
    [
        {"consents": []},
        {"consents": [{"purpose": "marketing_email", "status": "granted"}] * 2},
        {"consents": [{"purpose": "marketing_email", "status": "maybe"}]},
        {"consents": [{"purpose": "marketing_email", "status": "granted", "stated_at": "yesterday"}]},
        {"consents": [{"purpose": "marketing_email", "status": "granted", "stated_at": "2025-03-01T12:00:00"}]},
        {"consents": [{"purpose": "marketing_email", "status": "granted", "extra": 1}]},
    ],
)
def test_malformed_consents_are_refused(body):
    with pytest.raises(ValueError):
        ConsentsRequest.model_validate(body)
