"""One reading of a stream record (data.changes): each kind of change from the record shapes DynamoDB and
DynamoDB Local send, older item shapes converted, and what is no change of ours. Pure: no table."""

from decimal import Decimal
from typing import Any

import pytest
from boto3.dynamodb.types import TypeSerializer
from pydantic import ValidationError

from customer_profiles.data import keys
from customer_profiles.data.changes import read_change, read_record
from customer_profiles.data.codec import (
    consent_to_item,
    entitlement_to_item,
    order_to_item,
    pending_to_item,
    profile_to_item,
    receipt_to_item,
    settings_to_item,
    user_to_item,
)
from customer_profiles.models.activity import SYSTEM, Actor
from customer_profiles.models.consents import ConsentStatement
from customer_profiles.models.domain import (
    Entitlement,
    Order,
    OrderLine,
    OrgSettings,
    PendingEffect,
    Profile,
    ProfileAttributes,
    Receipt,
    User,
)
from customer_profiles.ports.effects import (
    ClaimChanged,
    ConsentChanged,
    EntitlementChanged,
    ItemKey,
    OrderChanged,
    OrgSettingsChanged,
    OtherChange,
    PendingEffectAdded,
    ProfileChanged,
    ReceiptChanged,
    UserChanged,
)

AT = "2026-03-01T10:00:00.123Z"
LATER = "2026-03-01T10:05:00.456Z"
STAFF = Actor.staff("staff-ann", "admin")
SERIALIZER = TypeSerializer()


def typed(image: dict[str, Any]) -> dict[str, Any]:
    """An item as a stream record's image holds it (DynamoDB's typed JSON)."""

    def convert(value: Any) -> Any:
        if isinstance(value, bool):
            return value
        if isinstance(value, int):
            return Decimal(value)
        if isinstance(value, dict):
            return {k: convert(v) for k, v in value.items()}
        if isinstance(value, list):
            return [convert(v) for v in value]
        return value

    return {k: SERIALIZER.serialize(convert(v)) for k, v in image.items()}


def record(event_name: str, old: dict | None = None, new: dict | None = None, **raw: Any) -> dict[str, Any]:
    change: dict[str, Any] = {
        "ApproximateCreationDateTime": 1772359200,
        "Keys": typed({k: (new or old or {})[k] for k in ("pk", "sk")}),
        "SequenceNumber": "100",
        **({"NewImage": typed(new)} if new is not None else {}),
        **({"OldImage": typed(old)} if old is not None else {}),
        **raw,
    }
    return {"eventID": "ev-1", "eventName": event_name, "eventSource": "aws:dynamodb", "dynamodb": change}


def change_of(event_name: str, old: dict | None = None, new: dict | None = None):
    return read_record(record(event_name, old, new)).change


def profile(**fields: Any) -> Profile:
    return Profile(org_id="org-a", profile_id="p-1", origin="pos", created_at=AT, updated_at=AT, **fields)


def test_a_record_has_its_id_and_the_time_the_stream_saw_it():
    read = read_record(record("INSERT", None, profile_to_item(profile())))

    assert (read.record_id, read.record_time) == ("ev-1", "2026-03-01T10:00:00.000Z")


def test_a_pending_effect_written_is_work_to_complete_and_its_removal_is_not():
    effect = PendingEffect(kind="publish", effect_id="e-1", cause={"detail_type": "Hi", "detail": {}}, created_at=AT)

    added = change_of("INSERT", None, pending_to_item(effect))
    removed = change_of("REMOVE", pending_to_item(effect), None)

    assert added == PendingEffectAdded(effect)
    assert isinstance(removed, OtherChange) and removed.key == ItemKey(*keys.pending_key("publish", "e-1").values())


def test_an_older_claim_notice_whose_cause_is_the_claim_alone_is_its_first_notification():
    claim = {"claim_id": "c-1", "org_id": "org-a", "status": "open"}
    effect = PendingEffect(kind="notify_claim", effect_id="c-1", cause=claim, created_at=AT)

    added = change_of("INSERT", None, pending_to_item(effect))

    assert isinstance(added, PendingEffectAdded)
    assert added.effect.cause == {"claim": claim, "notice": "ClaimNotificationRequested"}


def test_a_pending_effect_that_is_none_fails_its_record():
    item = pending_to_item(PendingEffect(kind="publish", effect_id="e-2", cause={}, created_at=AT))
    del item["created_at"]

    with pytest.raises(ValidationError):
        change_of("INSERT", None, item)


def test_a_profile_change_has_its_ids_from_the_key_both_images_as_models_and_who_made_it():
    old = profile_to_item(profile())
    new = {**profile_to_item(profile(user_id="u-1", version=2)), "changed_by": STAFF.stamp()}

    change = change_of("MODIFY", old, new)

    assert isinstance(change, ProfileChanged)
    assert (change.event, change.org_id, change.profile_id, change.changed_by) == ("MODIFY", "org-a", "p-1", STAFF)
    assert change.old == profile() and change.new == profile(user_id="u-1", version=2)
    assert change.key == ItemKey(keys.profile_pk("org-a", "p-1"), keys.PROFILE_SK)


def test_dynamodb_locals_empty_map_is_an_empty_map():
    # DynamoDB Local writes an empty map as `{}`, with no type: the attributes are read as none set
    item = typed(profile_to_item(profile(attributes=ProfileAttributes(given_name="Ann"))))
    item["attributes"] = {}
    raw = record("MODIFY", profile_to_item(profile()), None, NewImage=item)

    change = read_record(raw).change

    assert isinstance(change, ProfileChanged) and change.new == profile()


def test_an_order_moved_by_a_merge_says_where_it_came_from():
    order = Order(order_id="o-1", org_id="org-a", profile_id="p-1", channel="pos", currency="EUR",
                  payment_method="card", total=10, created_at=AT,
                  lines=[OrderLine(kind="ticket", item_id="ev-1", quantity=1, unit_price=10)])  # fmt: skip
    item = {**order_to_item(order, "u-1"), "moved_from": "p-0"}

    change = change_of("INSERT", None, item)

    assert isinstance(change, OrderChanged)
    assert (change.new, change.moved_from, change.profile_id) == (order, "p-0", "p-1")


def test_an_entitlement_voided_says_when_and_by_whom():
    active = Entitlement(entitlement_id="e-1", org_id="org-a", profile_id="p-1", order_id="o-1", kind="ticket",
                         item_id="ev-1", status="active", created_at=AT)  # fmt: skip
    void = active.model_copy(update={"status": "void"})
    new = {**entitlement_to_item(void, None), "status_changed_at": LATER, "changed_by": STAFF.stamp()}

    change = change_of("MODIFY", entitlement_to_item(active, None), new)

    assert isinstance(change, EntitlementChanged)
    assert (change.old.status, change.new.status) == ("active", "void")
    assert (change.status_changed_at, change.changed_by) == (LATER, STAFF)


def test_a_consent_removed_has_only_its_old_image_with_its_stamp():
    statement = ConsentStatement(purpose="marketing_sms", status="granted", stated_at=AT, source="app", recorded_at=AT)
    item = consent_to_item("org-a", "p-1", statement, moved=(LATER, SYSTEM))

    change = change_of("REMOVE", item, None)

    assert isinstance(change, ConsentChanged)
    assert (change.old, change.new, change.purpose) == (statement, None, "marketing_sms")
    assert (change.changed_at, change.changed_by) == (LATER, SYSTEM)


def test_an_older_consent_shape_without_its_purpose_or_statement_time_is_read_from_its_key():
    item = {**keys.consent_key("org-a", "p-1", "marketing_email"), "type": "consent", "status": "granted",
            "source": "pos", "recorded_at": AT}  # fmt: skip

    change = change_of("INSERT", None, item)

    assert isinstance(change, ConsentChanged) and change.new is not None
    assert (change.new.purpose, change.new.recorded_at, change.new.stated_at) == ("marketing_email", AT, AT)


def test_a_claim_stored_as_used_is_claimed_with_when_and_by_which_profile():
    claim = {**keys.claim_key("hash"), "type": "claim", "claim_id": "c-1", "org_id": "org-a", "partner_id": "tix",
             "profile_id": "p-1", "order_id": "o-1", "entitlement_ids": ["e-1"], "status": "open",
             "expires_at": LATER, "created_at": AT}  # fmt: skip
    used = {**claim, "status": "used", "used_at": LATER, "used_by_profile_id": "p-9"}

    change = change_of("MODIFY", claim, used)

    assert isinstance(change, ClaimChanged) and change.old is not None and change.new is not None
    assert (change.old.status, change.new.status) == ("open", "claimed")
    assert (change.times.used_at, change.times.used_by_profile_id) == (LATER, "p-9")


def test_a_user_an_orgs_settings_and_a_receipt():
    dormant = User(user_id="u-1", status="dormant", created_at=AT, updated_at=AT)
    active = dormant.model_copy(update={"status": "active", "updated_at": LATER})
    settings = OrgSettings(org_id="org-a", pos_capture="require", version=1, updated_at=AT)
    receipt = Receipt(org_id="org-a", profile_id="p-1", order_id="o-1", expires_at=LATER, created_at=AT)

    user = change_of("MODIFY", user_to_item(dormant), user_to_item(active))
    org = change_of("INSERT", None, settings_to_item(settings, STAFF))
    redeemed = change_of("MODIFY", receipt_to_item("h", receipt), receipt_to_item("h", receipt.model_copy(
        update={"status": "used"})))  # fmt: skip

    assert isinstance(user, UserChanged) and (user.old, user.new) == (dormant, active)
    assert isinstance(org, OrgSettingsChanged) and (org.org_id, org.new, org.changed_by) == ("org-a", settings, STAFF)
    assert isinstance(redeemed, ReceiptChanged) and redeemed.new is not None and redeemed.new.status == "used"
    assert redeemed.order_key == ItemKey(**keys.order_key("org-a", "p-1", AT, "o-1"))


@pytest.mark.parametrize(
    ("event_name", "old", "new"),
    [
        ("INSERT", None, {"pk": keys.profile_pk("org-a", "p-1"), "sk": "SEARCH#email#x", "type": "search"}),
        ("INSERT", None, {"pk": "SOMETHING#new", "sk": "UNKNOWN"}),
        ("MODIFY", {"pk": 1}, {"pk": 1}),
        ("INSERT", None, None),
        ("TTL", None, {"pk": keys.profile_pk("org-a", "p-1"), "sk": "PROFILE"}),
    ],
    ids=["search", "unknown", "odd-key", "no-image", "odd-event"],
)
def test_what_no_use_case_reads_is_another_change(event_name, old, new):
    change = read_change(event_name, old, new)

    assert isinstance(change, OtherChange) and change.unreadable is None


def test_an_item_that_is_not_a_model_of_its_kind_is_another_change_that_says_so():
    broken = {**profile_to_item(profile()), "origin": "nowhere"}

    change = read_change("INSERT", None, broken)

    assert isinstance(change, OtherChange) and change.unreadable
