"""The activity trail: the pure derivation from stream images, writing once per stream record, the linker's
handling of mixed batches, and the staff route (roles, isolation, pagination, cursors). On moto."""

import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import boto3
import pytest
from boto3.dynamodb.types import TypeSerializer
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import linker
import org_api
from customer_profiles.data import keys
from customer_profiles.data.changes import read_change
from customer_profiles.data.codec import encode_cursor, pending_to_item
from customer_profiles.domain.effects.trail import ProfileActivity, UserActivity, activity_of_change
from customer_profiles.domain.staff import org_console
from customer_profiles.edge import secrets as secret_store
from customer_profiles.models.activity import ActivityEntry, Actor
from customer_profiles.models.api import ProfileUpdateRequest
from customer_profiles.models.domain import PendingEffect, ProfileAttributes
from tests.unit.conftest import FakeContext, api_event, staff_principal, user_principal

ORG = "org-trail"
PK = keys.profile_pk(ORG, "p-1")
AT = "2026-03-01T10:00:00.000Z"
RECORD_TIME = "2026-03-01T10:00:01.000Z"
STAFF = {"kind": "staff", "subject": "staff-ann", "role": "admin"}


def profile_image(**fields: Any) -> dict[str, Any]:
    return {
        "pk": PK,
        "sk": "PROFILE",
        "type": "profile",
        "org_id": ORG,
        "profile_id": "p-1",
        "origin": "pos",
        "attributes": {},
        "created_at": AT,
        "updated_at": AT,
        "version": 1,
        **fields,
    }


def derive(event_name, old=None, new=None, *, record_time=RECORD_TIME):
    return activity_of_change(read_change(event_name, old, new), record_time=record_time)


def user_image(user_id, status, **fields):
    return {"pk": f"USER#{user_id}", "sk": "USER", "type": "user", "user_id": user_id, "status": status,
            "created_at": AT, "updated_at": AT, **fields}  # fmt: skip


def kinds(derived):
    return [(d.org_id, d.profile_id, d.entry.kind) for d in derived if isinstance(d, ProfileActivity)]


# --- the derivation ---------------------------------------------------------------------------------------
WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=4, max_size=12)
VALUES = {  # a valid value of each attribute: a profile's image is read as a Profile
    "given_name": WORD.map(lambda v: f"val-{v}"),
    "family_name": WORD.map(lambda v: f"val-{v}"),
    "display_name": WORD.map(lambda v: f"val-{v}"),
    "picture_url": WORD.map(lambda v: f"https://example.com/val-{v}.png"),
    "birth_date": st.dates(min_value=datetime(1920, 1, 1).date(), max_value=datetime(2010, 1, 1).date()).map(str),
    "locale": st.sampled_from(["en", "fr-FR", "de", "pt-BR"]),
    "marketing_consent": st.booleans(),
}
assert set(VALUES) == set(ProfileAttributes.model_fields)
ATTRIBUTE_MAP = st.fixed_dictionaries({}, optional={name: value | st.none() for name, value in VALUES.items()})


@settings(max_examples=60, deadline=None)
@given(before=ATTRIBUTE_MAP, after=ATTRIBUTE_MAP)
def test_any_attribute_edit_yields_exactly_the_changed_field_names_and_never_a_value(before, after):
    # Given a profile whose attributes change from `before` to `after`, by a staff member
    old = profile_image(attributes=before)
    new = profile_image(attributes=after, updated_at=RECORD_TIME, version=2, changed_by=STAFF)

    # When the record is derived
    derived = derive("MODIFY", old, new)

    # Then one `edited` entry names exactly the fields whose values differ, with its actor, and no value
    changed = sorted(n for n in set(before) | set(after) if before.get(n) != after.get(n))
    if not changed:
        assert derived == []
        return
    (only,) = derived
    assert isinstance(only, ProfileActivity) and only.entry.kind == "edited"
    assert only.entry.fields == changed
    assert only.entry.actor == Actor.staff("staff-ann", "admin")
    text = only.entry.model_dump_json()
    assert not any(v in text for v in [*before.values(), *after.values()] if isinstance(v, str) and len(v) > 2)


def test_a_new_profile_is_created_with_its_origin_and_who_created_it():
    new = profile_image(origin="partner", changed_by={"kind": "partner", "partner_id": "tix"})

    (created,) = derive("INSERT", None, new)

    assert created.entry == ActivityEntry(kind="created", at=AT, actor=Actor.partner("tix"), origin="partner")


def test_attaching_an_identifier_to_an_orphan_names_its_kind_not_its_value():
    old = profile_image(captured={"given_name": "x"})
    new = profile_image(
        user_id="u-dormant", captured={"email": "ann@example.com"}, updated_at=RECORD_TIME, changed_by=STAFF
    )

    (attached,) = derive("MODIFY", old, new)

    assert attached.entry.kind == "identifier_attached" and attached.entry.identifier_kinds == ["email"]
    assert "ann@example.com" not in attached.entry.model_dump_json()
    assert "u-dormant" not in attached.entry.model_dump_json()


def test_a_profile_moved_to_another_user_is_linked_and_an_activated_user_links_each_of_its_profiles():
    moved = derive("MODIFY", profile_image(user_id="u-1"), profile_image(user_id="u-2", version=2))
    user_old = user_image("u-1", "dormant")
    activated = derive("MODIFY", user_old, {**user_old, "status": "active", "updated_at": AT})

    assert kinds(moved) == [(ORG, "p-1", "linked")]
    assert activated == [UserActivity("u-1", ActivityEntry(kind="linked", at=AT, actor=Actor(kind="customer")))]
    assert derive("MODIFY", user_old, {**user_old, "status": "merged"}) == []


def test_a_merge_is_on_both_profiles_trails_and_the_close_before_it_on_none():
    closing = derive("MODIFY", profile_image(), profile_image(merging_into="p-2", version=2))
    merged = derive("MODIFY", profile_image(merging_into="p-2"), profile_image(merged_into="p-2", version=3))

    assert closing == []
    assert kinds(merged) == [(ORG, "p-1", "merged_into"), (ORG, "p-2", "merged_from")]
    assert [d.entry.other_profile_id for d in merged] == ["p-2", "p-1"]


def test_an_erasure_is_erased_only_whatever_it_removed():
    old = profile_image(attributes={"given_name": "Ann", "birth_date": "1990-01-01"})
    new = profile_image(attributes={}, erased_at=RECORD_TIME, updated_at=RECORD_TIME, version=2)

    (erased,) = derive("MODIFY", old, new)

    assert erased.entry.kind == "erased" and erased.entry.fields is None


def test_orders_placed_and_entitlements_voided_but_not_children_moved_by_a_merge():
    sale = {"org_id": ORG, "profile_id": "p-1", "order_id": "o-1", "created_at": AT}
    order = {**keys.order_key(ORG, "p-1", AT, "o-1"), "type": "order", **sale, "channel": "pos", "currency": "EUR",
             "payment_method": "card", "lines": [], "total": 0}  # fmt: skip
    entitlement = {"pk": PK, "sk": "ENT#e-1", "type": "entitlement", "entitlement_id": "e-1", "status": "active",
                   **sale, "kind": "ticket", "item_id": "ev-1"}  # fmt: skip
    voided = {**entitlement, "status": "void", "status_changed_at": RECORD_TIME, "changed_by": STAFF}

    assert kinds(derive("INSERT", None, order)) == [(ORG, "p-1", "order_placed")]
    assert derive("INSERT", None, {**order, "moved_from": "p-0"}) == []
    (void,) = derive("MODIFY", entitlement, voided)
    assert (void.entry.kind, void.entry.entitlement_id, void.entry.at) == ("entitlement_voided", "e-1", RECORD_TIME)
    assert void.entry.actor == Actor.staff("staff-ann", "admin")
    assert derive("MODIFY", voided, voided) == []
    assert derive("INSERT", None, entitlement) == []


def test_consent_statements_are_read_generically_by_their_key():
    # A consent item without its purpose (read from the key), dated by when it was recorded
    consent = {"pk": PK, "sk": "CONSENT#marketing_email", "status": "granted", "source": "pos", "recorded_at": AT}

    (given_,) = derive("INSERT", None, consent)

    assert given_.entry.model_dump(exclude_none=True) == {
        "kind": "consent_changed",
        "at": AT,
        "purpose": "marketing_email",
        "status": "granted",
        "source": "pos",
    }
    assert derive("MODIFY", consent, {**consent}) == []


def test_a_consent_is_dated_when_the_change_was_recorded_never_when_said_nor_by_the_streams_time():
    # Given a statement said days before it was recorded, a later withdrawal, and its removal (stamped first)
    said, recorded, withdrawn_at, removed_at = (
        "2026-02-26T09:00:00.000Z",
        "2026-03-01T10:00:00.311Z",
        "2026-03-01T10:00:00.912Z",
        "2026-03-01T10:00:01.504Z",
    )
    consent = {"pk": PK, "sk": "CONSENT#marketing_sms", "purpose": "marketing_sms", "status": "granted",
               "source": "app", "stated_at": said, "recorded_at": recorded}  # fmt: skip
    withdrawal = {
        **consent,
        "status": "withdrawn",
        "stated_at": "2026-03-01T09:59:00.000Z",
        "recorded_at": withdrawn_at,
    }
    stamped = {**withdrawal, "changed_at": removed_at, "changed_by": {"kind": "system"}}

    # When each record is derived (the stream's time is a whole minute, as DynamoDB Local gives it)
    entries = [
        derive(event, old, new, record_time="2026-03-01T10:00:00.000Z")
        for event, old, new in (("INSERT", None, consent), ("MODIFY", consent, withdrawal),
                                ("MODIFY", withdrawal, stamped), ("REMOVE", stamped, None))
    ]  # fmt: skip

    # Then each is dated when it was recorded, the stamp says nothing, and the removal is the system's
    (granted,), (withdrawn,), stamp, (removed,) = entries
    assert [e.entry.at for e in (granted, withdrawn, removed)] == [recorded, withdrawn_at, removed_at]
    assert [e.entry.status for e in (granted, withdrawn, removed)] == ["granted", "withdrawn", "removed"]
    assert stamp == [] and removed.entry.actor == Actor(kind="system")


def test_claim_events_go_on_the_claims_profile_and_never_carry_its_recipient():
    claim = {
        "pk": "CLAIM#abc",
        "sk": "CLAIM",
        "type": "claim",
        "claim_id": "c-1",
        "org_id": ORG,
        "profile_id": "p-1",
        "partner_id": "tix",
        "order_id": "o-1",
        "entitlement_ids": ["e-1"],
        "email": "buyer@example.com",
        "status": "open",
        "expires_at": "2026-04-01T10:00:00.000Z",
        "created_at": AT,
    }

    def after(**changes):
        return [(d.profile_id, d.entry.kind) for d in derive("MODIFY", claim, {**claim, **changes})]

    (created,) = derive("INSERT", None, claim)
    assert (created.entry.kind, created.entry.actor) == ("claim_created", Actor.partner("tix"))
    assert after(status="claimed", used_by_profile_id="p-9") == [("p-1", "claim_claimed"), ("p-9", "claim_claimed")]
    assert after(status="used") == [("p-1", "claim_claimed")]
    assert after(status="cancelled") == [("p-1", "claim_cancelled")]
    assert after(status="cancelled", replaced_by="c-2") == [("p-1", "claim_readdressed")]
    assert after(status="expired") == [("p-1", "claim_expired")]
    assert after(resends=1) == []
    assert "buyer@example.com" not in json.dumps([d.entry.model_dump() for d in derive("INSERT", None, claim)])


@pytest.mark.parametrize(
    ("event_name", "old", "new"),
    [
        ("INSERT", None, {"pk": PK, "sk": "SEARCH#email#a@example.com", "type": "search"}),
        ("INSERT", None, pending_to_item(PendingEffect(kind="publish", effect_id="x", cause={}, created_at=AT))),
        ("INSERT", None, {"pk": keys.activity_pk(ORG, "p-1"), "sk": f"{AT}#r#000", "kind": "edited"}),
        ("INSERT", None, {"pk": "USER#u", "sk": "PROFILE#ORG#o", "profile_id": "p"}),
        ("INSERT", None, {"pk": "SOMETHING#new", "sk": "UNKNOWN"}),
        ("REMOVE", profile_image(), None),
        ("MODIFY", profile_image(), profile_image(version=2, cards=["fp"])),
        ("MODIFY", {"pk": 1}, {"pk": 1}),
        ("INSERT", None, None),
        ("TTL", None, profile_image()),
    ],
    ids=[
        "search",
        "pending",
        "activity-itself",
        "user-org",
        "unknown",
        "remove",
        "re-key",
        "odd",
        "empty",
        "odd-event",
    ],
)
def test_what_is_no_profiles_business_derives_nothing(event_name, old, new):
    assert derive(event_name, old, new) == []


# --- the linker: written once per record, mixed batches, failures ---------------------------------------------
SERIALIZER = TypeSerializer()


def typed(image):
    def convert(value):
        return Decimal(value) if isinstance(value, int) and not isinstance(value, bool) else value

    return {k: SERIALIZER.serialize(convert(v)) for k, v in image.items()}


def stream_record(event_name, old=None, new=None, *, event_id=None, sequence="100"):
    change: dict[str, Any] = {
        "ApproximateCreationDateTime": 1772359201,
        "Keys": typed({k: (new or old)[k] for k in ("pk", "sk")}),
        "SequenceNumber": sequence,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    if new is not None:
        change["NewImage"] = typed(new)
    if old is not None:
        change["OldImage"] = typed(old)
    return {
        "eventID": event_id or uuid.uuid4().hex,
        "eventName": event_name,
        "eventSource": "aws:dynamodb",
        "dynamodb": change,
    }


def trail(store, org_id=ORG, profile_id="p-1"):
    return store.activity_page(org_id, profile_id, limit=100, cursor=None)[0]


def published(tmp_path):
    sink = tmp_path / "events.jsonl"
    return [json.loads(line) for line in sink.read_text().splitlines()] if sink.exists() else []


pytestmark_linker = pytest.mark.usefixtures("aws", "reset_handler_caches")


@pytestmark_linker
def test_a_redelivered_record_writes_its_entries_once(store):
    # Given a staff edit's stream record
    record = stream_record(
        "MODIFY", profile_image(), profile_image(attributes={"locale": "fr"}, version=2, changed_by=STAFF)
    )

    # When it is delivered twice (the second time in another batch)
    assert linker.handler({"Records": [record]}, FakeContext()) == {"batchItemFailures": []}
    assert linker.handler({"Records": [json.loads(json.dumps(record))]}, FakeContext()) == {"batchItemFailures": []}

    # Then the trail holds one entry
    assert [(e.kind, e.fields) for e in trail(store)] == [("edited", ["locale"])]


@pytestmark_linker
def test_an_activation_puts_linked_on_each_profile_of_the_user(store):
    # Given a dormant user with profiles in two orgs (made by two window sales)
    sale = {"currency": "EUR", "payment_method": "cash", "lines": [{"kind": "ticket", "item_id": "e", "quantity": 1,
            "unit_price": 1}], "customer": {"email": "dana@example.com"}}  # fmt: skip
    from customer_profiles.domain.sales import pos
    from customer_profiles.models.api import PosSaleRequest

    made = [
        pos.create_pos_sale(store, staff_principal("till", org, "pos"), org, PosSaleRequest.model_validate(sale))
        for org in ("org-a", "org-b")
    ]
    user_id = store.get_profile("org-a", made[0].profile.profile_id).user_id
    dormant = user_image(user_id, "dormant")

    # When its activation comes through the stream
    record = stream_record("MODIFY", dormant, {**dormant, "status": "active", "updated_at": AT})
    assert linker.handler({"Records": [record]}, FakeContext()) == {"batchItemFailures": []}

    # Then each profile says linked, by the customer
    for org, sold in zip(("org-a", "org-b"), made, strict=True):
        assert [(e.kind, e.actor) for e in trail(store, org, sold.profile.profile_id)] == [
            ("linked", Actor(kind="customer"))
        ]


@pytestmark_linker
def test_a_mixed_batch_completes_effects_writes_entries_ignores_the_rest_and_reports_only_the_bad_record(
    store, tmp_path
):
    # Given a batch: a pending effect, a profile edit, a search entry, a consent item, and a malformed pending one
    effect = PendingEffect(kind="publish", effect_id="e-1", cause={"detail_type": "Hello", "detail": {}}, created_at=AT)
    store.db.table.put_item(Item=pending_to_item(effect))
    bad_item = pending_to_item(effect.model_copy(update={"effect_id": "e-bad"}))
    del bad_item["created_at"]
    store.db.table.put_item(Item=bad_item)
    consent = {"pk": PK, "sk": "CONSENT#marketing_sms", "purpose": "marketing_sms", "status": "granted",
               "source": "app", "stated_at": AT, "recorded_at": AT}  # fmt: skip
    records = [
        stream_record("INSERT", None, pending_to_item(effect), sequence="101"),
        stream_record("MODIFY", profile_image(), profile_image(attributes={"locale": "de"}), sequence="102"),
        stream_record("INSERT", None, {"pk": PK, "sk": "SEARCH#name#given_name", "type": "search"}, sequence="103"),
        stream_record("INSERT", None, bad_item, sequence="104"),
        stream_record("INSERT", None, consent, sequence="105"),
    ]

    # When the linker runs
    result = linker.handler({"Records": records}, FakeContext())

    # Then only the bad record failed; the effect was published; the edit and the consent are on the trail
    assert result == {"batchItemFailures": [{"itemIdentifier": "104"}]}
    assert [e["detail-type"] for e in published(tmp_path)] == ["Hello"]
    assert sorted(e.kind for e in trail(store)) == ["consent_changed", "edited"]


@pytestmark_linker
def test_a_record_whose_entries_cannot_even_be_deferred_is_reported_and_its_redelivery_writes_them(
    store, tmp_path, monkeypatch
):
    # Given a record, and writing its entries and leaving them pending both failing the first time
    effect = PendingEffect(kind="publish", effect_id="e-2", cause={"detail_type": "Hi", "detail": {}}, created_at=AT)
    store.db.table.put_item(Item=pending_to_item(effect))
    edit = stream_record("MODIFY", profile_image(), profile_image(attributes={"locale": "it"}), sequence="201")
    pending = stream_record("INSERT", None, pending_to_item(effect), sequence="202")
    real = linker.record_activity
    calls = {"n": 0}

    def flaky(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("throttled")
        return real(*args, **kwargs)

    monkeypatch.setattr(linker, "record_activity", flaky)

    # When the batch runs, then is redelivered from the failed record
    first = linker.handler({"Records": [edit, pending]}, FakeContext())
    second = linker.handler({"Records": [edit, pending]}, FakeContext())

    # Then the edit was reported, the effect completed once, and the entry written on the redelivery
    assert first == {"batchItemFailures": [{"itemIdentifier": "201"}]}
    assert second == {"batchItemFailures": []}
    assert [e["detail-type"] for e in published(tmp_path)] == ["Hi"]
    assert [e.kind for e in trail(store)] == ["edited"]


@pytestmark_linker
def test_a_staff_edit_stamps_its_actor_and_the_stream_image_names_the_staff_role_not_the_user(store):
    # Given a window sale with an email (its profile has a dormant user) and an admin editing it
    from customer_profiles.domain.sales import pos
    from customer_profiles.models.api import PosSaleRequest

    sale = PosSaleRequest.model_validate(
        {
            "currency": "EUR",
            "payment_method": "cash",
            "lines": [{"kind": "ticket", "item_id": "e", "quantity": 1, "unit_price": 1}],
            "customer": {"email": "erin@example.com", "given_name": "Erin"},
        }
    )
    made = pos.create_pos_sale(store, staff_principal("till-7", ORG, "pos"), ORG, sale)
    profile_id = made.profile.profile_id
    key = keys.profile_key(ORG, profile_id)
    created = store.db.get(key)
    admin = staff_principal("staff-ann", ORG, "admin", "viewer")
    org_console.update_profile(
        store, admin, ORG, profile_id, ProfileUpdateRequest(version=1, attributes={"family_name": "Nakamura"})
    )
    edited = store.db.get(key)

    # When their records come through the stream
    records = [stream_record("INSERT", None, created), stream_record("MODIFY", created, edited)]
    assert linker.handler({"Records": records}, FakeContext()) == {"batchItemFailures": []}

    # Then the trail says who, as role and subject, and holds no user id nor personal value
    entries = trail(store, ORG, profile_id)
    assert [(e.kind, e.actor) for e in entries] == [
        ("edited", Actor.staff("staff-ann", "admin")),
        ("created", Actor.staff("till-7", "pos")),
    ]
    text = json.dumps([e.model_dump() for e in entries])
    for value in (created["user_id"], "erin@example.com", "Erin", "Nakamura"):
        assert value not in text


@pytestmark_linker
def test_writing_a_records_entries_again_writes_none(store):
    entries = [(ORG, "p-1", ActivityEntry(kind="linked", at=AT)), (ORG, "p-1", ActivityEntry(kind="edited", at=AT))]

    assert store.add_activity("rec-1", entries) == 2
    assert store.add_activity("rec-1", entries) == 0
    assert len(trail(store)) == 2


# --- the route --------------------------------------------------------------------------------------------
def seed_trail(store, profile_id, count, org_id=ORG):
    """`count` entries on the profile, one second apart, as the linker writes them."""
    entries = [
        (org_id, profile_id, ActivityEntry(kind="edited", at=f"2026-03-01T10:{i // 60:02d}:{i % 60:02d}.000Z",
         fields=["locale"]))
        for i in range(count)
    ]  # fmt: skip
    assert store.add_activity(f"rec-{uuid.uuid4().hex[:6]}", entries) == count
    return entries


def get_activity(principal, profile_id, org_id=ORG, **query):
    event = api_event(
        "org-api-list-profile-activity.json",
        principal=principal,
        path=f"/v1/orgs/{org_id}/profiles/{profile_id}/activity",
        pathParameters={"org_id": org_id, "profile_id": profile_id},
        queryStringParameters={k: str(v) for k, v in query.items()} or None,
    )
    event["multiValueQueryStringParameters"] = {k: [str(v)] for k, v in query.items()} or None
    response = org_api.handler(event, FakeContext())
    return response["statusCode"], json.loads(response["body"]) if response["body"] else None


def a_profile(store, org_id=ORG):
    from customer_profiles.domain.sales import pos
    from customer_profiles.models.api import PosSaleRequest

    sale = {"currency": "EUR", "payment_method": "cash", "lines": [{"kind": "ticket", "item_id": "e", "quantity": 1,
            "unit_price": 1}], "customer": {}}  # fmt: skip
    return pos.create_pos_sale(
        store,
        staff_principal("till", org_id, "pos"),
        org_id,
        PosSaleRequest.model_validate(sale),
        receipt_keys=secret_store.receipt_code_keys,
    ).profile.profile_id


@pytestmark_linker
@pytest.mark.parametrize("role", ["viewer", "pos", "admin"])
def test_any_staff_role_of_the_org_reads_the_trail(store, role):
    profile_id = a_profile(store)
    seed_trail(store, profile_id, 2)

    status, body = get_activity(staff_principal(None, ORG, role), profile_id)

    assert status == 200 and [e["kind"] for e in body["entries"]] == ["edited", "edited"]
    assert body["next_cursor"] is None


@pytestmark_linker
def test_another_orgs_staff_and_customers_find_nothing_and_trails_stay_apart(store):
    mine, other = a_profile(store), a_profile(store)
    seed_trail(store, mine, 1)

    assert get_activity(staff_principal(None, "org-else", "admin"), mine)[0] == 404
    assert get_activity(user_principal(), mine)[0] in (403, 404)
    assert get_activity(staff_principal(None, ORG, "viewer"), "no-such-profile")[0] == 404
    assert get_activity(staff_principal(None, ORG, "viewer"), other)[1]["entries"] == []


@pytestmark_linker
@pytest.mark.parametrize(
    "cursor",
    [
        "not-base64!",
        encode_cursor({"pk": keys.activity_pk(ORG, "someone-else"), "sk": AT}),
        encode_cursor({"pk": "PLACEHOLDER", "sk": AT, "extra": "x"}),
        encode_cursor(["a list"]),
    ],
    ids=["garbage", "other-profile", "extra-key", "not-a-key"],
)
def test_a_cursor_the_listing_did_not_make_is_a_422(store, cursor):
    profile_id = a_profile(store)
    cursor = cursor.replace("PLACEHOLDER", keys.activity_pk(ORG, profile_id)) if cursor else cursor

    status, body = get_activity(staff_principal(None, ORG, "viewer"), profile_id, cursor=cursor)

    assert status == 422, body


@pytestmark_linker
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(count=st.integers(min_value=0, max_value=12), limit=st.integers(min_value=1, max_value=5))
def test_pages_give_each_entry_once_newest_first(store, count, limit):
    # Given a profile with `count` entries
    profile_id = a_profile(store)
    seeded = seed_trail(store, profile_id, count)

    # When every page is read
    seen, cursor, pages = [], None, 0
    while True:
        status, body = get_activity(
            staff_principal(None, ORG, "viewer"), profile_id, limit=limit, **({"cursor": cursor} if cursor else {})
        )
        assert status == 200 and len(body["entries"]) <= limit
        seen += [e["at"] for e in body["entries"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break

    # Then each entry came once, newest first, in as few pages as the limit allows
    assert seen == sorted((e.at for _, _, e in seeded), reverse=True)
    assert pages == max(1, -(-count // limit))


# --- dated by the item's own time: the trail's order is the order of the writes ---------------------------
class StreamLinker:
    """The linker on moto's stream of the profiles table: each drain delivers every record written since the
    last, in batches as Lambda does, with `ApproximateCreationDateTime` floored to the minute (as DynamoDB
    Local gives it; AWS gives the second): a trail dated by the stream's time would tie, or break order."""

    def __init__(self, aws):
        arn = aws.meta.client.describe_table(TableName="profiles-test")["Table"]["LatestStreamArn"]
        self.streams = boto3.client("dynamodbstreams")
        (shard,) = self.streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
        self.iterator = self.streams.get_shard_iterator(
            StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]

    def drain(self):
        response = self.streams.get_records(ShardIterator=self.iterator)
        self.iterator = response["NextShardIterator"]
        records = []
        for record in response["Records"]:
            change = dict(record["dynamodb"])
            change["ApproximateCreationDateTime"] = int(change["ApproximateCreationDateTime"].timestamp()) // 60 * 60
            records.append({**record, "dynamodb": change})
        for start in range(0, len(records), 25):
            assert linker.handler({"Records": records[start : start + 25]}, FakeContext()) == {"batchItemFailures": []}
        return len(records)


@pytest.fixture
def stream(aws):
    return StreamLinker(aws)


def whole_trail(store, org_id, profile_id):
    """Every entry, newest first, through the staff route's pages."""
    entries, cursor = [], None
    while True:
        page, cursor = store.activity_page(org_id, profile_id, limit=7, cursor=cursor)
        entries += page
        if cursor is None:
            return entries


def window_sale(store, org_id, email):
    from customer_profiles.domain.sales import pos
    from customer_profiles.models.api import PosSaleRequest

    sale = {"currency": "EUR", "payment_method": "card", "customer": {"email": email},
            "lines": [{"kind": "ticket", "item_id": "e", "quantity": 2, "unit_price": 1}]}  # fmt: skip
    return pos.create_pos_sale(
        store, staff_principal("till", org_id, "pos"), org_id, PosSaleRequest.model_validate(sale)
    )


OPERATIONS = st.lists(st.sampled_from(["edit", "consent", "sale", "void"]), min_size=1, max_size=8)


@pytestmark_linker
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=OPERATIONS, data=st.data())
def test_the_trails_newest_first_order_is_the_order_of_the_writes(store, stream, operations, data):
    from customer_profiles.clock import utc_now
    from customer_profiles.domain.privacy import consents
    from customer_profiles.models.consents import ConsentsRequest

    # Given a window sale to a customer's email (the profile's first write)
    org_id, email = f"org-{uuid.uuid4().hex[:8]}", f"c-{uuid.uuid4().hex[:8]}@example.com"
    admin = staff_principal("staff-ann", org_id, "admin", "viewer")
    windows, expected = [], []

    def timed(kinds, write):
        time.sleep(0.002)  # writes a few milliseconds apart, as people make them
        start = utc_now()
        write()
        windows.append((start, utc_now()))
        expected.append(kinds)

    sold = []
    timed({"created", "order_placed"}, lambda: sold.append(window_sale(store, org_id, email)))
    profile_id = sold[0].profile.profile_id
    said = {}  # per purpose: the last statement's time, which a later one must beat

    # When staff edit it, record consents said earlier than recorded, sell again and void, in a random order
    for n, operation in enumerate(operations):
        if operation == "edit":
            version = store.get_profile(org_id, profile_id).version
            update = ProfileUpdateRequest(version=version, attributes={"family_name": f"Edit{n}"})
            timed(
                {"edited"}, lambda update=update: org_console.update_profile(store, admin, org_id, profile_id, update)
            )
        elif operation == "consent":
            purpose = data.draw(st.sampled_from(["marketing_email", "marketing_sms"]))
            status = "withdrawn" if said.get(purpose, (None, "withdrawn"))[1] == "granted" else "granted"
            stated = (datetime.now(UTC) - timedelta(days=9 - n / 10)).isoformat()  # said days before recorded
            said[purpose] = (stated, status)
            request = ConsentsRequest.model_validate(
                {"consents": [{"purpose": purpose, "status": status, "stated_at": stated}]}
            )
            timed(
                {"consent_changed"},
                lambda request=request: consents.record_by_staff(store, admin, org_id, profile_id, request),
            )
        elif operation == "sale":
            timed({"order_placed"}, lambda: window_sale(store, org_id, email))
        else:
            active = [e for e in store.profile_with_children(org_id, profile_id)[2] if e.status == "active"]
            if not active:
                continue
            timed({"entitlement_voided"}, lambda e=active[0]: org_console.void_entitlement(
                store, admin, org_id, profile_id, e.entitlement_id))  # fmt: skip
    stream.drain()

    # Then every entry is dated within the write that made it, never at the stream's minute, and newest
    # first is the writes' order, each write on the trail with its kinds
    entries = whole_trail(store, org_id, profile_id)
    made_by = []
    for entry in entries:
        (write,) = [i for i, (start, end) in enumerate(windows) if start <= entry.at <= end] or [None]
        assert write is not None, f"{entry.kind} at {entry.at} is in no write's time: {windows}"
        assert entry.kind in expected[write], (entry.kind, expected[write])
        made_by.append(write)
    assert made_by == sorted(made_by, reverse=True)
    assert set(made_by) == set(range(len(windows)))


@pytestmark_linker
def test_a_consent_moved_by_a_merge_or_removed_is_dated_when_that_happened(store, stream):
    from customer_profiles.clock import utc_now
    from customer_profiles.domain.privacy import consents
    from customer_profiles.models.consents import ConsentsRequest

    # Given two profiles of an org, the first with a statement said and recorded a while ago
    org_id = f"org-{uuid.uuid4().hex[:8]}"
    source, target = (window_sale(store, org_id, f"{who}@example.com").profile for who in ("src", "dst"))
    admin = staff_principal("staff-ann", org_id, "admin")
    request = ConsentsRequest.model_validate({"consents": [{"purpose": "marketing_email", "status": "granted"}]})
    consents.record_by_staff(store, admin, org_id, source.profile_id, request)
    stream.drain()
    recorded = store.consents_of(org_id, source.profile_id)["marketing_email"].recorded_at
    time.sleep(0.01)

    # When its statements move to the second (a merge), which is later erased (its statements forgotten)
    moved_from = utc_now()
    store.move_consents(store.get_profile(org_id, source.profile_id), store.get_profile(org_id, target.profile_id))
    moved_until = utc_now()
    time.sleep(0.01)
    forgotten_from = utc_now()
    assert store.forget_consents(org_id, target.profile_id) == 1
    forgotten_until = utc_now()
    stream.drain()

    # Then each profile's trail dates the change when it happened to it, by the system, after the statement
    def consent_entries(profile_id):
        return [e for e in whole_trail(store, org_id, profile_id) if e.kind == "consent_changed"]

    left, first = consent_entries(source.profile_id)
    assert (first.status, first.at) == ("granted", recorded)
    assert left.status == "removed" and moved_from <= left.at <= moved_until and left.actor == Actor(kind="system")
    gone, arrived = consent_entries(target.profile_id)
    assert arrived.status == "granted" and moved_from <= arrived.at <= moved_until
    assert arrived.actor == Actor(kind="system")
    assert gone.status == "removed" and forgotten_from <= gone.at <= forgotten_until


# --- durable: entries that cannot be written wait as a pending effect -------------------------------------
class FailingPuts:
    """DynamoDB refusing the linker's PutItem of keys starting with `prefixes` (throttled), until healed: an
    event hook on its client, so everything else the linker does goes through."""

    def __init__(self, prefixes):
        self.prefixes = tuple(prefixes)
        self.refused = 0
        events = linker.store().db.table.meta.client.meta.events
        events.register("before-parameter-build.dynamodb.PutItem", self.refuse)

    def refuse(self, params, **kwargs):
        pk = params["Item"]["pk"]
        pk = pk["S"] if isinstance(pk, dict) else pk  # typed or not, whichever handler ran first
        if self.prefixes and pk.startswith(self.prefixes):
            self.refused += 1
            error = {"Code": "ProvisionedThroughputExceededException", "Message": "throttled (injected)"}
            raise ClientError({"Error": error}, "PutItem")

    def heal(self):
        self.prefixes = ()


def deferred_effects(store):
    return [e for e in store.all_pending() if e.kind == "record_activity"]


@pytestmark_linker
def test_entries_that_cannot_be_written_wait_as_a_pending_effect_and_appear_once_after_the_redrive(store, monkeypatch):
    # Given a staff edit's record, and DynamoDB refusing every activity entry for longer than the stream keeps
    # records (the record's redeliveries would all fail the same way)
    edit = stream_record(
        "MODIFY", profile_image(), profile_image(attributes={"locale": "pt"}, version=2, changed_by=STAFF)
    )
    failing = FailingPuts([keys.ACTIVITY_PREFIX])

    # When the linker handles it: the batch succeeds, with the entries left as a pending effect
    assert linker.handler({"Records": [edit]}, FakeContext()) == {"batchItemFailures": []}
    (effect,) = deferred_effects(store)
    assert failing.refused >= 1 and trail(store) == []
    assert "locale" in json.dumps(effect.cause) and "pt" not in json.dumps(effect.cause)  # names, not values

    # and the pending effect's own stream record fails too (still refused), then the record is redelivered
    pending = stream_record("INSERT", None, store.db.get(keys.pending_key(effect.kind, effect.effect_id)))
    with pytest.raises(Exception, match="All records failed"):  # a whole failed batch is raised, for a retry
        linker.handler({"Records": [pending]}, FakeContext())
    assert linker.handler({"Records": [edit]}, FakeContext()) == {"batchItemFailures": []}

    # Then once DynamoDB takes writes again, the sweep re-drives the effect: the entry appears, once
    failing.heal()
    monkeypatch.setattr(linker, "SWEEP", linker.effects.RedrivePolicy())
    swept = linker.handler({"source": "aws.events", "detail-type": "Scheduled Event"}, FakeContext())
    assert swept["redriven"] >= 1 and swept["failed"] == 0
    assert [(e.kind, e.fields, e.actor) for e in trail(store)] == [
        ("edited", ["locale"], Actor.staff("staff-ann", "admin"))
    ]
    assert deferred_effects(store) == []

    # and a late delivery of the record or of the effect writes nothing more
    assert linker.handler({"Records": [edit, pending]}, FakeContext()) == {"batchItemFailures": []}
    assert len(trail(store)) == 1 and store.all_pending() == []


@pytestmark_linker
def test_a_deferred_activation_is_written_on_the_users_profiles_when_the_effect_completes(store):
    # Given a dormant user with a profile, activated, and its entries refused when the record comes
    sale = window_sale(store, ORG, "act@example.com")
    user_id = store.get_profile(ORG, sale.profile.profile_id).user_id
    dormant = user_image(user_id, "dormant")
    record = stream_record("MODIFY", dormant, {**dormant, "status": "active", "updated_at": AT})
    failing = FailingPuts([keys.ACTIVITY_PREFIX])
    assert linker.handler({"Records": [record]}, FakeContext()) == {"batchItemFailures": []}

    # When the effect's stream record comes once writes are taken again
    failing.heal()
    (effect,) = deferred_effects(store)
    pending = stream_record("INSERT", None, store.db.get(keys.pending_key(effect.kind, effect.effect_id)))
    assert linker.handler({"Records": [pending]}, FakeContext()) == {"batchItemFailures": []}

    # Then the profile says linked, by the customer, once, and the effect is done
    entries = trail(store, ORG, sale.profile.profile_id)
    assert [(e.kind, e.at, e.actor) for e in entries if e.kind == "linked"] == [("linked", AT, Actor(kind="customer"))]
    assert deferred_effects(store) == []


@pytestmark_linker
def test_a_record_is_reported_failed_only_when_its_entries_cannot_be_left_pending_either(store):
    # Given DynamoDB refusing both activity entries and pending effects
    edit = stream_record("MODIFY", profile_image(), profile_image(attributes={"locale": "nl"}, version=2))
    failing = FailingPuts([keys.ACTIVITY_PREFIX, keys.PENDING_PREFIX])

    # When the record comes, it fails (as before: its redelivery is the retry); once healed it writes
    with pytest.raises(Exception, match="All records failed"):
        linker.handler({"Records": [edit]}, FakeContext())
    assert trail(store) == [] and deferred_effects(store) == []
    failing.heal()
    assert linker.handler({"Records": [edit]}, FakeContext()) == {"batchItemFailures": []}
    assert [e.kind for e in trail(store)] == ["edited"]
