"""The data layer by aggregate: derived items written through one function, listing and search staff can
rely on, complete reads, and the split between retryable and permanent conflicts. On moto."""

import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from customer_profiles.data import codec, keys
from customer_profiles.data.pending import add_pending
from customer_profiles.data.tx import MAX_ITEMS, TooManyItems, TransactionCancelled, parse_cancellation
from customer_profiles.domain.identity import linking, registration, users
from customer_profiles.domain.sales import orders, pos, sale_plan
from customer_profiles.domain.staff import org_console
from customer_profiles.edge import secrets as secret_store
from customer_profiles.errors import ConcurrentWrite, StateConflict, TryAgain
from customer_profiles.models.api import AttachIdentifierRequest, OrderRequest, PosSaleRequest, ProfileUpdateRequest
from customer_profiles.models.domain import PendingEffect, ProfileAttributes
from customer_profiles.retry import on_concurrent_write
from tests.unit.conftest import staff_principal, user_principal

ROOT = Path(__file__).resolve().parents[2]
ORG = "org-data"
SELLER = staff_principal("till-d", ORG, "pos")
ADMIN = staff_principal("admin-d", ORG, "admin")
LINES = [{"kind": "ticket", "item_id": "ev-1", "quantity": 1, "unit_price": 1000}]


def sell(store, payment_method="cash", **customer):
    request = PosSaleRequest.model_validate(
        {"currency": "GBP", "payment_method": payment_method, "lines": LINES, "customer": customer}
    )
    return pos.create_pos_sale(store, SELLER, ORG, request, receipt_keys=secret_store.receipt_code_keys)


def search(store, by, value, limit=25, cursor=None):
    return org_console.list_profiles(store, ADMIN, ORG, search=(by, value), limit=limit, cursor=cursor)


def every_page(fetch, limit):
    seen, cursor = [], None
    for _ in range(1000):  # a cursor that never ends is a failure, not a hang
        page = fetch(limit, cursor)
        seen += [p.profile_id for p in page.profiles]
        cursor = page.next_cursor
        if not cursor:
            return seen
    raise AssertionError(f"the cursor never ended: {len(seen)} results, {len(set(seen))} distinct")


def test_listing_pages_through_profiles_that_all_sit_in_one_shard(store, monkeypatch):
    # Given three profiles whose ids all fall into one listing shard
    ids = iter(i for i in (f"p{n:04d}" for n in range(10_000)) if zlib.crc32(i.encode()) % keys.ORG_LISTING_SHARDS == 2)
    monkeypatch.setattr(sale_plan, "new_id", lambda: next(ids))
    made = [sell(store, given_name=f"Shard{n}").profile.profile_id for n in range(3)]

    # When staff page the listing one profile at a time
    seen = every_page(
        lambda limit, cursor: org_console.list_profiles(store, ADMIN, ORG, search=None, limit=limit, cursor=cursor), 1
    )

    # Then every profile is listed once, newest first
    assert seen == list(reversed(made))


def test_a_cursor_from_the_four_shard_listing_is_refused(store):
    # The listing went from 4 shards to 32 (bench/onsale.py): a cursor holding 4 positions cannot say where
    # the other 28 shards stand, so it is refused rather than guessed at.
    sell(store)
    old = codec.encode_cursor({"org": ORG, "after": [None] * 4, "done": [False] * 4})
    with pytest.raises(Exception, match="invalid cursor"):
        org_console.list_profiles(store, ADMIN, ORG, search=None, limit=1, cursor=old)


def test_a_listing_cursor_of_another_org_is_refused(store):
    sell(store)
    sell(store)
    page = org_console.list_profiles(store, ADMIN, ORG, search=None, limit=1, cursor=None)
    other = staff_principal("admin-x", "org-x", "admin")
    with pytest.raises(Exception, match="invalid cursor"):
        org_console.list_profiles(store, other, "org-x", search=None, limit=1, cursor=page.next_cursor)


def test_search_by_name_follows_an_edit(store):
    # Given a customer captured as "Alice Smith"
    sold = sell(store, given_name="Alice", family_name="Smith")

    # When an admin renames her "Beatrice"
    org_console.update_profile(
        store,
        ADMIN,
        ORG,
        sold.profile.profile_id,
        ProfileUpdateRequest(version=sold.profile.version, attributes=ProfileAttributes(given_name="Beatrice")),
    )

    # Then the new name finds her and the old one does not
    assert [p.profile_id for p in search(store, "name", "beat").profiles] == [sold.profile.profile_id]
    assert search(store, "name", "ali").profiles == []
    assert [p.profile_id for p in search(store, "name", "smi").profiles] == [sold.profile.profile_id]


def test_white_label_and_consumer_customers_are_found_by_name(store):
    # Given a white-label registration seeded from the token's names, and a consumer-app first purchase
    store.register_app_client("wl-client", ORG, "2026-01-01T00:00:00.000Z")
    wl = user_principal(client_id="wl-client", profile_claims=(("given_name", "Wendy"), ("family_name", "Label")))
    registered = registration.register(store, wl)
    buyer = user_principal()
    users.register_me(store, buyer)
    bought = orders.place_consumer_order(
        store, buyer, ORG, OrderRequest.model_validate({"currency": "GBP", "payment_method": "card", "lines": LINES})
    )
    org_console.update_profile(
        store,
        ADMIN,
        ORG,
        bought.order.profile_id,
        ProfileUpdateRequest(version=1, attributes=ProfileAttributes(family_name="Consumer")),
    )

    # Then staff find both by name
    assert [p.profile_id for p in search(store, "name", "wen").profiles] == [registered.profile.profile_id]
    assert [p.profile_id for p in search(store, "name", "consu").profiles] == [bought.order.profile_id]


def test_a_profile_matching_on_both_names_appears_once_across_pages(store):
    # Given "Ann Anderson", whose two names both start with "an", and "Andy Other"
    ann = sell(store, given_name="Ann", family_name="Anderson").profile.profile_id
    andy = sell(store, given_name="Andy", family_name="Other").profile.profile_id

    # When staff page the search for "an" one at a time
    seen = every_page(lambda limit, cursor: search(store, "name", "an", limit, cursor), 1)

    # Then each appears exactly once
    assert sorted(seen) == sorted([ann, andy])


def test_after_a_merge_the_merged_profiles_identifiers_find_the_survivor(store):
    # Given a person's profile, and a window sale to another email of theirs in the same org
    principal = user_principal(email="main@example.com", email_verified=True)
    users.register_me(store, principal)
    mine = orders.place_consumer_order(
        store,
        principal,
        ORG,
        OrderRequest.model_validate({"currency": "GBP", "payment_method": "card", "lines": LINES}),
    )
    sold = sell(store, "card", card_fingerprint="fp_merge_001")  # anonymous, then given identifiers by staff
    org_console.attach_identifier(
        store,
        ADMIN,
        ORG,
        sold.profile.profile_id,
        AttachIdentifierRequest(version=1, email="second@example.com", phone="+447911123401"),
    )
    target = store.get_profile(ORG, mine.order.profile_id)
    source = store.get_profile(ORG, sold.profile.profile_id)

    # When the two are merged
    linking.merge_profile_into(store, source, target, "2026-12-01T00:00:00.000Z")

    # Then searching by what was captured on the merged-away profile finds the survivor, and the card follows
    assert [p.profile_id for p in search(store, "email", "second@example.com").profiles] == [target.profile_id]
    assert [p.profile_id for p in search(store, "phone", "+447911123401").profiles] == [target.profile_id]
    assert store.profile_id_of_card(ORG, "fp_merge_001") == target.profile_id
    assert store.get_profile(ORG, source.profile_id).merged_into == target.profile_id
    listed = every_page(
        lambda limit, cursor: org_console.list_profiles(store, ADMIN, ORG, search=None, limit=limit, cursor=cursor), 5
    )
    assert source.profile_id not in listed and target.profile_id in listed


def unprocessed_half(store, monkeypatch):
    """BatchGetItem answers only the first half of the keys each time, as DynamoDB does under throttling."""
    real = store.db.client.batch_get_item
    calls = []

    def partial(RequestItems):
        calls.append(1)
        ((name, request),) = RequestItems.items()
        keys_ = request["Keys"]
        if len(keys_) == 1:
            return real(RequestItems=RequestItems)
        half = len(keys_) // 2
        answered = real(RequestItems={name: {**request, "Keys": keys_[:half]}})
        return {**answered, "UnprocessedKeys": {name: {**request, "Keys": keys_[half:]}}}

    monkeypatch.setattr(store.db.client, "batch_get_item", partial)
    monkeypatch.setattr(store.db, "_sleep", lambda seconds: None)
    return calls


def test_unprocessed_keys_are_read_again_until_none_is_left(store, monkeypatch):
    # Given four users holding an identifier each
    sold = [sell(store, email=f"u{n}@example.com") for n in range(4)]
    identifiers = [("email", f"u{n}@example.com") for n in range(4)]
    calls = unprocessed_half(store, monkeypatch)

    # When their holders are read while DynamoDB leaves keys unprocessed
    holders = store.identifier_holders(identifiers)

    # Then every holder is found, in more than one round
    assert len(holders) == 4 and len(calls) > 1
    assert store.profiles_by_ids(ORG, [s.profile.profile_id for s in sold]) != []
    assert len(store.profiles_by_ids(ORG, [s.profile.profile_id for s in sold])) == 4


def test_registration_finds_every_dormant_holder_despite_unprocessed_keys(store, monkeypatch):
    # Given a dormant user by email and another by phone
    by_email = store.get_profile(ORG, sell(store, email="both@example.com").profile.profile_id)
    by_phone = store.get_profile(ORG, sell(store, phone="+447911123402").profile.profile_id)
    unprocessed_half(store, monkeypatch)

    # When the person verifies both
    principal = user_principal(
        email="both@example.com", email_verified=True, phone_number="+447911123402", phone_number_verified=True
    )
    user, _ = users.register_me(store, principal)

    # Then one dormant user became theirs and the other was merged into it (a task to link it)
    assert user.user_id in (by_email.user_id, by_phone.user_id)
    other = by_phone.user_id if user.user_id == by_email.user_id else by_email.user_id
    assert store.get_user(other).status == "merged"


def one_item_pages(store, monkeypatch):
    """Every Query answers one item a page, as DynamoDB does past 1 MB."""
    real = store.db.table.query

    def paged(**arguments):
        return real(**{**arguments, "Limit": 1})

    monkeypatch.setattr(store.db.table, "query", paged)


def test_the_re_drive_sees_every_pending_effect_across_pages_and_shards(store, monkeypatch):
    # Given twelve pending effects, over the index shards
    made = []
    for n in range(12):
        effect = PendingEffect(kind="publish", effect_id=f"e{n}", cause={}, created_at=f"2026-01-01T00:00:{n:02d}.000Z")
        tx = store.db.tx()
        add_pending(tx, effect)
        tx.execute(store.db.client)
        made.append(effect)
    one_item_pages(store, monkeypatch)

    # Then all of them are listed, oldest first
    assert store.all_pending() == made


def test_a_profile_is_read_whole_across_query_pages(store, monkeypatch):
    sold = sell(store, "card", card_fingerprint="fp_pages_01")
    sell(store, "card", card_fingerprint="fp_pages_01")
    one_item_pages(store, monkeypatch)

    _profile, found_orders, entitlements = store.profile_with_children(ORG, sold.profile.profile_id)

    assert len(found_orders) == 2 and len(entitlements) == 2


def test_a_stale_version_is_a_permanent_conflict_and_is_tried_once(store):
    sold = sell(store, given_name="Stale")
    org_console.update_profile(
        store,
        ADMIN,
        ORG,
        sold.profile.profile_id,
        ProfileUpdateRequest(version=1, attributes=ProfileAttributes(given_name="Fresh")),
    )
    with pytest.raises(StateConflict):
        org_console.update_profile(
            store,
            ADMIN,
            ORG,
            sold.profile.profile_id,
            ProfileUpdateRequest(version=1, attributes=ProfileAttributes(given_name="Lost")),
        )


def test_retries_back_off_on_concurrent_writes_only():
    waits, attempts = [], []

    def lose():
        attempts.append(1)
        raise ConcurrentWrite("lost a race")

    with pytest.raises(TryAgain):
        on_concurrent_write(lose, give_up="gave up", sleep=waits.append)
    assert len(attempts) == 3 and len(waits) == 2 and all(w >= 0 for w in waits)

    attempts.clear()

    def refuse():
        attempts.append(1)
        raise StateConflict("never")

    with pytest.raises(StateConflict):
        on_concurrent_write(refuse, give_up="gave up", sleep=waits.append)
    assert len(attempts) == 1


def test_cancellation_reasons_are_parsed():
    from botocore.exceptions import ClientError

    error = ClientError(
        {
            "Error": {"Code": "TransactionCanceledException", "Message": "cancelled"},
            "CancellationReasons": [{"Code": "None"}, {"Code": "ConditionalCheckFailed"}, {"Code": "ThrottlingError"}],
        },
        "TransactWriteItems",
    )
    cancelled = parse_cancellation(error)
    assert isinstance(cancelled, TransactionCancelled)
    assert cancelled.reasons == {1: "condition_failed", 2: "throttled"}


def test_a_transaction_past_dynamodbs_limit_is_refused_before_it_is_sent(store):
    tx = store.db.tx()
    for n in range(MAX_ITEMS + 1):
        tx.put_if_new({"pk": f"X#{n}", "sk": "X"})
    with pytest.raises(TooManyItems):
        tx.execute(store.db.client)
    assert not [i for i in store.db.table.scan()["Items"] if i["pk"].startswith("X#")]


@pytest.mark.parametrize(
    ("function", "missing"),
    [
        ("app_api", "TABLE_NAME"),
        ("org_api", "IDEMPOTENCY_TABLE_NAME"),
        ("linker", "EVENT_BUS_NAME or LOCAL_EVENT_SINK"),
        ("app_api", "RECEIPT_CODE_KEYS_SECRET or LOCAL_RECEIPT_CODE_KEYS_FILE"),
    ],
)
def test_a_function_without_a_required_setting_fails_its_cold_start_naming_it(function, missing):
    env = {"PATH": "/usr/bin:/bin", "AWS_DEFAULT_REGION": "us-east-1", "POWERTOOLS_TRACE_DISABLED": "true"}
    env |= {
        "TABLE_NAME": "t",
        "IDEMPOTENCY_TABLE_NAME": "i",
        "LOCAL_EVENT_SINK": "/dev/null",
        "LOCAL_CLAIM_TOKEN_KEY_FILE": "/dev/null",
        "LOCAL_RECEIPT_CODE_KEYS_FILE": "/dev/null",
    }
    for name in missing.split(" or "):
        env.pop(name, None)
    path = f"{ROOT / 'layers' / 'common'}:{ROOT / 'functions' / function}"
    result = subprocess.run(
        [sys.executable, "-c", f"import {function}"],
        env={**env, "PYTHONPATH": path},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert f"missing required environment variable(s): {missing}" in result.stderr
