"""The capture policy at the window, an org's settings and its trail, and the identification report: the
pure parts (what a sale adds, periods, the median's bound), the tallies kept from moto's stream exactly once
whatever the order and redelivery of the records, and the routes (roles, isolation, limits, CSV, reads)."""

import csv
import io
import json
import random
import uuid
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import linker
import org_api
from customer_profiles.data import keys
from customer_profiles.data.changes import read_change
from customer_profiles.data.codec import encode_cursor
from customer_profiles.domain.effects import tallies
from customer_profiles.domain.identity import users
from customer_profiles.domain.sales import orders, pos, receipts
from customer_profiles.domain.staff import report
from customer_profiles.edge import secrets as secret_store
from customer_profiles.errors import IdentifierRequired, StateConflict
from customer_profiles.models.api import OrderRequest, OrgSettingsRequest, PosSaleRequest
from customer_profiles.models.domain import OrgSettings
from customer_profiles.models.principal import Principal
from tests.support.report_recount import recount, reported
from tests.unit.conftest import TABLES, FakeContext, api_event, staff_principal, user_principal

pytestmark = pytest.mark.usefixtures("aws", "reset_handler_caches")
TODAY = datetime.now(UTC).date()
LINE = {"kind": "ticket", "item_id": "ev-1", "quantity": 2, "unit_price": 1500}


# --- helpers --------------------------------------------------------------------------------------------
def call(method: str, path: str, principal: Principal, *, body: Any = None, query: dict[str, str] | None = None):
    """An org API request through the handler (the committed settings event, re-aimed)."""
    org_id = path.split("/")[3]
    resource = path.replace(f"/v1/orgs/{org_id}", "/v1/orgs/{org_id}")
    event = api_event("org-api-get-settings.json", principal=principal)
    event.update(
        httpMethod=method,
        path=path,
        resource=resource,
        pathParameters={"org_id": org_id},
        body=json.dumps(body) if body is not None else None,
        queryStringParameters=query,
        multiValueQueryStringParameters={k: [v] for k, v in query.items()} if query else None,
    )
    event["requestContext"].update(httpMethod=method, path=path, resourcePath=resource)
    if body is not None:
        event["headers"] = {**(event.get("headers") or {}), "Content-Type": "application/json"}
        event["multiValueHeaders"] = {**(event.get("multiValueHeaders") or {}), "Content-Type": ["application/json"]}
    answer = org_api.handler(event, FakeContext())
    content_type = (answer.get("multiValueHeaders") or {}).get("Content-Type", [""])[0]
    parsed = json.loads(answer["body"]) if content_type.startswith("application/json") and answer["body"] else None
    return answer["statusCode"], parsed if parsed is not None else answer["body"], answer


def sale(store, org_id: str, till: Principal, customer: dict[str, Any] | None = None):
    request = PosSaleRequest.model_validate(
        {"currency": "EUR", "payment_method": "cash", "customer": customer or {}, "lines": [LINE]}
    )
    return pos.create_pos_sale(store, till, org_id, request, receipt_keys=secret_store.receipt_code_keys)


def purchase(store, org_id: str, buyer: Principal):
    users.register_me(store, buyer)
    request = OrderRequest.model_validate({"currency": "EUR", "payment_method": "card", "lines": [LINE]})
    return orders.place_consumer_order(store, buyer, org_id, request)


def sign_up(store, email: str) -> Principal:
    person = user_principal(f"person-{uuid.uuid4().hex[:8]}", email=email, email_verified=True)
    users.register_me(store, person)
    return person


class Stream:
    """moto's stream of the profiles table, delivered to the linker: in order, or (`shuffle`) in a random
    order with some records delivered twice, as parallel shards and redeliveries do in AWS."""

    def __init__(self, aws):
        arn = aws.meta.client.describe_table(TableName=TABLES["ProfilesTable"])["Table"]["LatestStreamArn"]
        self.client = boto3.client("dynamodbstreams")
        (shard,) = self.client.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
        self.iterator = self.client.get_shard_iterator(
            StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        self.delivered: list[dict[str, Any]] = []

    def fetch(self) -> list[dict[str, Any]]:
        response = self.client.get_records(ShardIterator=self.iterator)
        self.iterator = response["NextShardIterator"]
        return [
            {**r, "dynamodb": {**r["dynamodb"], "ApproximateCreationDateTime": 1772359201}} for r in response["Records"]
        ]

    def deliver(self, records: list[dict[str, Any]]) -> None:
        for start in range(0, len(records), 25):
            answer = linker.handler({"Records": records[start : start + 25]}, FakeContext())
            assert answer == {"batchItemFailures": []}
        self.delivered += records

    def quiet(self, rng: random.Random | None = None) -> None:
        """Deliver until the table writes nothing more (effects and tallies write records of their own)."""
        for _ in range(20):
            records = self.fetch()
            if not records:
                return
            if rng is not None:
                records = records + rng.sample(records, k=len(records) // 3)  # redelivered
                rng.shuffle(records)
            self.deliver(records)
        raise AssertionError("the stream never went quiet")


@pytest.fixture
def stream(aws):
    return Stream(aws)


def day_rows(store, org_id: str, principal: Principal, **query: str) -> list[dict[str, Any]]:
    status, body, _ = call(
        "GET",
        f"/v1/orgs/{org_id}/reports/identification",
        principal,
        query={"from": TODAY.isoformat(), "to": TODAY.isoformat(), **query},
    )
    assert status == 200, body
    return body["rows"]


def row(rows: list[dict[str, Any]], channel: str, staff: str | None = None) -> dict[str, Any]:
    (found,) = [r for r in rows if r["channel"] == channel and r.get("staff") == staff]
    return found


# --- settings and the capture policy ----------------------------------------------------------------------
def test_settings_start_at_suggest_and_change_over_the_version_read(store):
    # Given an org's admin
    org_id = f"org-{uuid.uuid4().hex[:8]}"
    admin = staff_principal(None, org_id, "admin")

    # When they read the settings, change them with version 0, then send version 0 again
    first = call("GET", f"/v1/orgs/{org_id}/settings", admin)
    changed = call("PUT", f"/v1/orgs/{org_id}/settings", admin, body={"version": 0, "pos_capture": "require"})
    stale = call("PUT", f"/v1/orgs/{org_id}/settings", admin, body={"version": 0, "pos_capture": "off"})
    again = call("PUT", f"/v1/orgs/{org_id}/settings", admin, body={"version": 1, "pos_capture": "require"})

    # Then the default is suggest at version 0, the change is version 1, the stale one a 409, the same again nothing
    assert first[:2] == (200, {"org_id": org_id, "pos_capture": "suggest", "version": 0, "updated_at": None})
    assert changed[0] == 200 and changed[1]["pos_capture"] == "require" and changed[1]["version"] == 1
    assert stale[0] == 409 and stale[1]["error"]["code"] == "conflict"
    assert again[0] == 200 and again[1]["version"] == 1
    assert store.org_settings(org_id).pos_capture == "require"


@pytest.mark.parametrize(("roles", "status"), [(("pos",), 403), (("viewer",), 403), (("admin",), 200)])
def test_only_admins_read_and_change_settings(store, roles, status):
    org_id = f"org-{uuid.uuid4().hex[:8]}"
    caller = staff_principal(None, org_id, *roles)

    assert call("GET", f"/v1/orgs/{org_id}/settings", caller)[0] == status
    assert call("PUT", f"/v1/orgs/{org_id}/settings", caller, body={"version": 0, "pos_capture": "off"})[0] == status


def test_another_orgs_admin_finds_no_settings_and_a_revoked_admin_changes_nothing(store):
    org_id = f"org-{uuid.uuid4().hex[:8]}"
    other = staff_principal(None, f"org-{uuid.uuid4().hex[:8]}", "admin")
    revoked = staff_principal(None, org_id, "admin", member=False)  # what a cached authorizer answer still says

    assert call("GET", f"/v1/orgs/{org_id}/settings", other)[0] == 404
    assert call("PUT", f"/v1/orgs/{org_id}/settings", other, body={"version": 0, "pos_capture": "off"})[0] == 404
    assert call("PUT", f"/v1/orgs/{org_id}/settings", revoked, body={"version": 0, "pos_capture": "off"})[0] == 403
    assert store.org_settings(org_id).version == 0


def test_each_settings_change_is_on_the_orgs_trail_with_who_and_from_what(store, stream):
    # Given two changes by an admin, through the stream
    org_id = f"org-{uuid.uuid4().hex[:8]}"
    admin = staff_principal("admin-ann", org_id, "admin")
    call("PUT", f"/v1/orgs/{org_id}/settings", admin, body={"version": 0, "pos_capture": "require"})
    call("PUT", f"/v1/orgs/{org_id}/settings", admin, body={"version": 1, "pos_capture": "off"})
    stream.quiet()
    stream.deliver(stream.delivered)  # every record again: nothing new

    # When the admin reads the org's trail
    status, body, _ = call("GET", f"/v1/orgs/{org_id}/activity", admin, query={"limit": "10"})

    # Then both changes are there, newest first, once each
    assert status == 200
    assert [(e["kind"], e["previous"], e["settings"]) for e in body["entries"]] == [
        ("settings_changed", {"pos_capture": "require"}, {"pos_capture": "off"}),
        ("settings_changed", {"pos_capture": "suggest"}, {"pos_capture": "require"}),
    ]
    assert body["entries"][0]["actor"] == {"kind": "staff", "subject": "admin-ann", "role": "admin", "partner_id": None}
    assert call("GET", f"/v1/orgs/{org_id}/activity", staff_principal(None, org_id, "viewer"))[0] == 403


def set_policy(store, org_id: str, policy: str) -> None:
    from customer_profiles.domain.staff import settings as org_settings

    admin = staff_principal(None, org_id, "admin")
    current = store.org_settings(org_id)
    org_settings.change_settings(store, admin, org_id, OrgSettingsRequest(version=current.version, pos_capture=policy))


@pytest.mark.parametrize(
    "customer",
    [{}, {"card_fingerprint": "fp_1234567890"}, {"given_name": "Ann"}],
    ids=["nothing", "a card only", "a name only"],
)
def test_require_refuses_a_window_sale_without_email_or_phone(store, customer):
    # Given an org that requires an identifier
    org_id = f"org-{uuid.uuid4().hex[:8]}"
    set_policy(store, org_id, "require")
    till = staff_principal(None, org_id, "pos")
    body = {"currency": "EUR", "payment_method": "card", "customer": customer, "lines": [LINE]}

    # When the till sells without an email or phone
    status, answer, _ = call_sale(org_id, till, body)

    # Then it is a 422 naming the policy, and nothing was sold
    assert status == 422
    assert answer["error"]["code"] == "identifier_required" and "pos_capture: require" in answer["error"]["message"]
    assert store.list_org_profiles(org_id, limit=10, cursor=None)[0] == []


def call_sale(org_id: str, till: Principal, body: dict[str, Any]):
    event = api_event("org-api-post-pos-sale.json", principal=till)
    event.update(
        path=f"/v1/orgs/{org_id}/pos/sales",
        pathParameters={"org_id": org_id},
        body=json.dumps(body),
        headers={**event["headers"], "Idempotency-Key": uuid.uuid4().hex},
        multiValueHeaders={**(event.get("multiValueHeaders") or {}), "Idempotency-Key": [uuid.uuid4().hex]},
    )
    answer = org_api.handler(event, FakeContext())
    return answer["statusCode"], json.loads(answer["body"]), answer


@pytest.mark.parametrize(
    ("policy", "customer", "suggested"),
    [
        ("require", {"email": "ann@example.com"}, None),
        ("suggest", {}, True),
        ("suggest", {"card_fingerprint": "fp_1234567890"}, True),
        ("suggest", {"phone": "+447911123456"}, None),
        ("off", {}, None),
    ],
)
def test_each_policy_answers_the_sale_as_it_says(store, policy, customer, suggested):
    org_id = f"org-{uuid.uuid4().hex[:8]}"
    if policy != "suggest":
        set_policy(store, org_id, policy)  # suggest: the default, never written
    till = staff_principal(None, org_id, "pos")

    status, answer, _ = call_sale(
        org_id, till, {"currency": "EUR", "payment_method": "card", "customer": customer, "lines": [LINE]}
    )

    assert status == 201
    assert answer.get("capture_suggested") == suggested
    assert ("capture_suggested" in answer) == (suggested is not None)  # `off` says nothing at all
    assert (answer["receipt_code"] is not None) == ("email" not in customer and "phone" not in customer)


def test_a_policy_changed_after_the_sale_read_it_decides_the_sale(store, monkeypatch):
    # Given a sale that read `suggest`, while an admin changes the policy to `require` before it writes
    org_id = f"org-{uuid.uuid4().hex[:8]}"
    till = staff_principal(None, org_id, "pos")
    read = store.answer_and_holders
    calls = []

    def read_then_change(*args, **kwargs):
        found = read(*args, **kwargs)
        if not calls:
            set_policy(store, org_id, "require")
        calls.append(1)
        return found

    monkeypatch.setattr(store, "answer_and_holders", read_then_change)

    # When the sale writes, then Then its transaction's check on the settings fails, and the retry refuses it
    with pytest.raises(IdentifierRequired):
        sale(store, org_id, till)
    assert len(calls) == 2
    assert store.list_org_profiles(org_id, limit=10, cursor=None)[0] == []


def test_the_settings_write_refuses_a_stale_version_at_the_table(store):
    org_id = f"org-{uuid.uuid4().hex[:8]}"
    store.write_settings(
        OrgSettings(org_id=org_id, pos_capture="off", version=1), read_version=0, changed_by=report_actor()
    )
    with pytest.raises(StateConflict):
        store.write_settings(
            OrgSettings(org_id=org_id, pos_capture="require", version=1), read_version=0, changed_by=report_actor()
        )


def report_actor():
    from customer_profiles.models.activity import SYSTEM

    return SYSTEM


# --- the pure parts ---------------------------------------------------------------------------------------
@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(min_value=1, max_value=3e8, allow_nan=False), min_size=1, max_size=60))
def test_the_median_from_log_buckets_is_within_a_tenth_of_the_exact_one(times):
    histogram = Counter(tallies.activation_bucket(t) for t in times)
    exact = sorted(times)[(len(times) + 1) // 2 - 1]  # the lower median, as the report takes it
    found = report.median_seconds(dict(histogram))
    assert found is not None
    assert abs(found - exact) <= 0.0906 * exact + 0.5  # 2^(1/8) - 1, and the rounding to a whole second


@settings(max_examples=200, deadline=None)
@given(
    first=st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 1, 1)),
    days=st.integers(min_value=0, max_value=400),
    by=st.sampled_from(["day", "week", "month"]),
)
def test_periods_cover_the_range_once_each_in_order(first, days, by):
    last = first + timedelta(days=days)
    found = report.periods(first, last, by)
    covered = [p_first + timedelta(days=n) for _, p_first, p_last in found for n in range((p_last - p_first).days + 1)]
    assert covered == [first + timedelta(days=n) for n in range(days + 1)]
    assert all(report.period_of(p_first, by)[0] == label for label, p_first, _ in found)
    assert len({label for label, _, _ in found}) == len(found)


def targets(event_name, old=None, new=None):
    return tallies.targets_of_change(read_change(event_name, old, new))


def test_records_that_no_tally_depends_on_touch_none():
    pk = keys.profile_pk("o", "p")
    profile = {"pk": pk, "sk": "PROFILE", "type": "profile", "org_id": "o", "profile_id": "p", "origin": "pos",
               "created_at": "t", "updated_at": "t", "attributes": {"given_name": "A"}}  # fmt: skip
    assert targets("INSERT", None, {"pk": pk, "sk": "SEARCH#email#x"}) == []
    assert targets("REMOVE", {"pk": pk, "sk": "ORDER#t#o"}, None) == []
    assert targets("MODIFY", profile, {**profile, "attributes": {"given_name": "B"}}) == []
    user = {"pk": "USER#u", "sk": "USER", "user_id": "u", "status": "dormant", "created_at": "t", "updated_at": "t"}
    assert targets("MODIFY", user, {**user, "email": "x"}) == []
    assert targets("MODIFY", user, {**user, "status": "active"}) == [tallies.Target("user", "USER#u")]


# --- the tallies, from the stream ---------------------------------------------------------------------------
def test_a_sale_counts_where_it_was_made_and_moves_from_dormant_to_person_in_its_own_period(store, stream):
    # Given an anonymous sale at till-1, a sale typed with an email at till-2, and an app purchase
    org_id = f"org-{uuid.uuid4().hex[:8]}"
    viewer = staff_principal(None, org_id, "viewer")
    till_1, till_2 = staff_principal("till-1", org_id, "pos"), staff_principal("till-2", org_id, "pos")
    email = f"dana-{uuid.uuid4().hex[:6]}@example.com"
    sale(store, org_id, till_1)
    sale(store, org_id, till_2, {"email": email})
    purchase(store, org_id, user_principal(None, email=f"x-{uuid.uuid4().hex[:6]}@example.com", email_verified=True))
    stream.quiet()

    # When the report is read before and after the emailed customer signs up
    before = day_rows(store, org_id, viewer)
    sign_up(store, email)
    stream.quiet()
    after = day_rows(store, org_id, viewer)

    # Then the window's two sales and the app's one are where they were sold, each held as it is now
    window, app = row(before, "window"), row(before, "consumer_app")
    assert (window["sales"], window["tickets"], app["sales"]) == (2, 4, 1)
    assert window["held"] == {"person": 0, "dormant": 1, "anonymous_with_receipt": 1, "anonymous": 0, "erased": 0}
    assert window["receipt_codes"] == {"issued": 1, "redeemed": 0}
    assert app["held"]["person"] == 1 and window["dormant_holders_activated"] == 0
    window = row(after, "window")
    assert window["held"]["dormant"] == 0 and window["held"]["person"] == 1 and window["sales"] == 2
    assert window["dormant_holders_activated"] == 1 and window["median_seconds_to_activation"] is not None
    assert row(after, "white_label")["sales"] == row(after, "reseller")["sales"] == 0

    # And by staff, each till has its own row
    by_staff = day_rows(store, org_id, viewer, by_staff="true")
    assert {(r["staff"], r["sales"], r["held"]["anonymous_with_receipt"]) for r in by_staff} == {
        ("till-1", 1, 1),
        ("till-2", 1, 0),
    }


def test_a_redeemed_receipt_code_moves_the_sale_to_a_person_and_counts_once(store, stream):
    org_id = f"org-{uuid.uuid4().hex[:8]}"
    viewer = staff_principal(None, org_id, "viewer")
    sold = sale(store, org_id, staff_principal(None, org_id, "pos"))
    stream.quiet()
    person = sign_up(store, f"faye-{uuid.uuid4().hex[:6]}@example.com")

    receipts.redeem_receipt(store, person, sold.receipt_code, keys=secret_store.receipt_code_keys)
    stream.quiet()
    stream.deliver(list(reversed(stream.delivered)))  # every record again, backwards

    window = row(day_rows(store, org_id, viewer), "window")
    assert window["sales"] == 1 and window["held"]["person"] == 1 and window["held"]["anonymous_with_receipt"] == 0
    assert window["receipt_codes"] == {"issued": 1, "redeemed": 1}
    assert window["dormant_holders_activated"] == 0  # a receipt code, not a dormant holder


def test_a_record_whose_tallies_fail_leaves_a_recount_that_the_redrive_completes(store, stream, monkeypatch):
    # Given DynamoDB refusing every tally while a sale's records go through
    org_id = f"org-{uuid.uuid4().hex[:8]}"
    viewer = staff_principal(None, org_id, "viewer")
    write = type(store).write_tally

    def refused(*args, **kwargs):
        raise RuntimeError("throttled")

    monkeypatch.setattr(type(store), "write_tally", refused)
    sale(store, org_id, staff_principal(None, org_id, "pos"))
    stream.deliver(stream.fetch())
    assert row(day_rows(store, org_id, viewer), "window")["sales"] == 0
    pending = [e for e in store.all_pending() if e.kind == "recount"]
    assert pending

    # When DynamoDB takes writes again and the re-drive runs
    monkeypatch.setattr(type(store), "write_tally", write)
    from customer_profiles.domain.effects import effects

    effects.redrive(store, lambda events: None)
    stream.quiet()

    # Then the sale is counted, once, and nothing is left pending
    assert row(day_rows(store, org_id, viewer), "window")["sales"] == 1
    assert [e for e in store.all_pending() if e.kind == "recount"] == []


def _scan(aws) -> list[dict[str, Any]]:
    table = aws.Table(TABLES["ProfilesTable"])
    response = table.scan()
    items = response["Items"]
    while "LastEvaluatedKey" in response:
        response = table.scan(ExclusiveStartKey=response["LastEvaluatedKey"])
        items += response["Items"]
    return items


OPERATIONS = st.lists(
    st.sampled_from(["anonymous", "email", "email_again", "app", "sign_up", "redeem"]), min_size=2, max_size=9
)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=OPERATIONS, seed=st.integers(0, 2**16))
def test_the_counters_equal_a_recount_of_the_items_whatever_the_records_order_and_redeliveries(
    store, aws, stream, operations, seed
):
    # Given random sales, sign-ups and redemptions, each followed by the stream in a random order with
    # redeliveries (as parallel shards and retried batches deliver it)
    rng = random.Random(seed)
    org_id = f"org-{uuid.uuid4().hex[:8]}"
    till = staff_principal(None, org_id, "pos")
    viewer = staff_principal(None, org_id, "viewer")
    emails = [f"c{n}-{uuid.uuid4().hex[:6]}@example.com" for n in range(2)]
    codes: list[str] = []
    for operation in operations:
        email = rng.choice(emails)
        if operation == "anonymous":
            codes.append(sale(store, org_id, till).receipt_code)
        elif operation in ("email", "email_again"):
            sale(store, org_id, till, {"email": email})
        elif operation == "app":
            purchase(store, org_id, user_principal(None, email=f"a-{uuid.uuid4().hex[:6]}@x.com", email_verified=True))
        elif operation == "sign_up":
            sign_up(store, email)
        elif codes:
            person = sign_up(store, f"r-{uuid.uuid4().hex[:6]}@example.com")
            receipts.redeem_receipt(store, person, codes.pop(), keys=secret_store.receipt_code_keys)
        if rng.random() < 0.5:
            stream.quiet(rng)
    stream.quiet(rng)

    # When the report is read, Then every figure equals a count of the items as they are
    assert reported(day_rows(store, org_id, viewer)) == recount(_scan(aws), org_id)


# --- the report's route ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(("roles", "status"), [(("viewer",), 200), (("admin",), 200), (("pos",), 403)])
def test_admins_and_viewers_read_the_report_tills_do_not(store, roles, status):
    org_id = f"org-{uuid.uuid4().hex[:8]}"
    assert call("GET", f"/v1/orgs/{org_id}/reports/identification", staff_principal(None, org_id, *roles))[0] == status


def test_another_orgs_staff_get_a_404_and_never_its_figures(store, stream):
    org_id = f"org-{uuid.uuid4().hex[:8]}"
    sale(store, org_id, staff_principal(None, org_id, "pos"))
    stream.quiet()
    other = staff_principal(None, f"org-{uuid.uuid4().hex[:8]}", "admin", "viewer")

    status, body, _ = call("GET", f"/v1/orgs/{org_id}/reports/identification", other)

    assert status == 404 and body["error"]["code"] == "not_found"
    other_org = other.memberships and next(iter(other.memberships))
    assert all(r["sales"] == 0 for r in day_rows(store, other_org, other))


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"from": "2026-03-10", "to": "2026-03-01"}, "from"),
        ({"from": "2025-01-01", "to": "2026-03-01"}, "to"),
        ({"from": "2026-02-30"}, "from"),
        ({"from": "9999-12-30", "to": "9999-12-31"}, "from"),
        ({"to": "0001-01-05"}, "to"),
        ({"by": "year"}, "by"),
        ({"limit": "0"}, "limit"),
        ({"format": "xml"}, "format"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"cursor": encode_cursor({"next": "1999-01-01"})}, "cursor"),
        ({"cursor": encode_cursor({"pk": "REPORT#other#0", "sk": "x"})}, "cursor"),
    ],
)
def test_a_report_asked_wrongly_is_a_422_naming_what(store, query, field):
    org_id = f"org-{uuid.uuid4().hex[:8]}"
    status, body, _ = call(
        "GET", f"/v1/orgs/{org_id}/reports/identification", staff_principal(None, org_id, "viewer"), query=query
    )
    assert status == 422, body
    error = body["error"]
    assert error.get("field") == field or any(field in d["field"] for d in error.get("details", []))


def test_a_year_by_day_is_one_page_of_every_day_and_channel_read_with_one_query_per_shard(store, aws):
    # Given the report of 366 days
    org_id = f"org-{uuid.uuid4().hex[:8]}"
    queries = []
    client = org_api.store().db.client
    client.meta.events.register("before-call.dynamodb", lambda model, **kw: queries.append(model.name))
    first = TODAY - timedelta(days=365)

    # When it is read
    status, body, _ = call(
        "GET",
        f"/v1/orgs/{org_id}/reports/identification",
        staff_principal(None, org_id, "admin"),
        query={"from": first.isoformat(), "to": TODAY.isoformat()},
    )

    # Then every day and channel is a row, and the reads were one Query per shard, nothing else
    assert status == 200 and body["next_cursor"] is None
    assert len(body["rows"]) == 366 * len(report.CHANNELS)
    assert queries == ["Query"] * keys.REPORT_SHARDS


def test_weeks_and_months_page_by_period_and_each_period_is_on_one_page(store, stream):
    org_id = f"org-{uuid.uuid4().hex[:8]}"
    admin = staff_principal(None, org_id, "admin")
    sale(store, org_id, staff_principal(None, org_id, "pos"))
    stream.quiet()
    first = TODAY - timedelta(days=40)
    labels, cursor, sales = [], None, 0
    while True:
        query = {"from": first.isoformat(), "to": TODAY.isoformat(), "by": "week", "limit": "2"}
        status, body, _ = call(
            "GET",
            f"/v1/orgs/{org_id}/reports/identification",
            admin,
            query={**query, **({"cursor": cursor} if cursor else {})},
        )
        assert status == 200
        labels += [r["period"] for r in body["rows"] if r["channel"] == "window"]
        sales += sum(r["sales"] for r in body["rows"])
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert labels == [label for label, _, _ in report.periods(first, TODAY, "week")]
    assert sales == 1


def test_csv_is_one_line_per_row_with_a_header_and_staff_subjects_stay_text(store, stream):
    org_id = f"org-{uuid.uuid4().hex[:8]}"
    sale(store, org_id, staff_principal("=HYPERLINK(1)", org_id, "pos"))
    stream.quiet()
    viewer = staff_principal(None, org_id, "viewer")
    query = {"from": TODAY.isoformat(), "to": TODAY.isoformat(), "format": "csv"}

    status, text, answer = call("GET", f"/v1/orgs/{org_id}/reports/identification", viewer, query=query)
    _, by_staff, _ = call(
        "GET", f"/v1/orgs/{org_id}/reports/identification", viewer, query={**query, "by_staff": "true"}
    )

    assert status == 200
    headers = answer["multiValueHeaders"]
    assert headers["Content-Type"] == ["text/csv; charset=utf-8"]
    assert headers["Content-Disposition"][0].startswith("attachment; filename=")
    lines = list(csv.DictReader(io.StringIO(text)))
    assert [line["channel"] for line in lines] == list(report.CHANNELS)
    window = lines[0]
    assert (window["period"], window["sales"], window["held_anonymous_with_receipt"]) == (TODAY.isoformat(), "1", "1")
    assert window["median_seconds_to_activation"] == ""
    (till,) = list(csv.DictReader(io.StringIO(by_staff)))
    assert till["staff"] == "'=HYPERLINK(1)" and till["sales"] == "1"


def test_a_csv_page_gives_the_next_pages_cursor_in_a_header(store):
    org_id = f"org-{uuid.uuid4().hex[:8]}"
    viewer = staff_principal(None, org_id, "viewer")
    yesterday = (TODAY - timedelta(days=1)).isoformat()
    query = {"from": yesterday, "to": TODAY.isoformat(), "format": "csv", "limit": "1"}

    _, first, answer = call("GET", f"/v1/orgs/{org_id}/reports/identification", viewer, query=query)
    (cursor,) = answer["multiValueHeaders"]["Next-Cursor"]
    _, second, last = call(
        "GET", f"/v1/orgs/{org_id}/reports/identification", viewer, query={**query, "cursor": cursor}
    )

    assert {line["period"] for line in csv.DictReader(io.StringIO(first))} == {yesterday}
    assert {line["period"] for line in csv.DictReader(io.StringIO(second))} == {TODAY.isoformat()}
    assert "Next-Cursor" not in last["multiValueHeaders"]
