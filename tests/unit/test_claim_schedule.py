"""Claim reminders and expiry, exactly once, on moto: the schedule's runs at moved clocks, concurrent and
repeated runs, claims that are no longer open, and the reminder's pending effect redelivered."""

import contextlib
import uuid
from datetime import datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import linker
import signed_messages
from customer_profiles.data import keys
from customer_profiles.data.changes import read_change
from customer_profiles.data.claims import add_claim
from customer_profiles.domain.claims import claim_schedule, claims
from customer_profiles.domain.effects import effects
from customer_profiles.domain.effects.stream import handle_change
from customer_profiles.models.domain import Claim
from tests.unit import test_partners
from tests.unit.conftest import user_principal
from tests.unit.test_partners import PARTNER, order_body, signed

secret = test_partners.secret  # the partner and its signing secret, as a fixture


def at(start: str, hours: float) -> str:
    moved = datetime.fromisoformat(start) + timedelta(hours=hours)
    return moved.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def partner_claim(store, secret, *, days=3, email=None):
    """A claim as a partner order makes it (through `add_claim`), expiring in `days`."""
    email = email or f"buyer-{uuid.uuid4().hex[:6]}@example.com"
    body = order_body(external_order_id=uuid.uuid4().hex, buyer={"email": email, "given_name": "Bo"})
    answer, _ = signed_messages.receive(store, PARTNER, signed(secret, body, uuid.uuid4().hex), body, claim_days=days)
    (item,) = [
        i for i in store.db.table.scan()["Items"] if i.get("type") == "claim" and i["order_id"] == answer["order_id"]
    ]
    return Claim.model_validate(item), item["pk"].removeprefix(keys.CLAIM_PREFIX)


def reminders(store) -> list:
    return [e for e in store.all_pending() if e.kind == "notify_claim" and e.effect_id.endswith("#reminder")]


def due_items(store, claim_id) -> list:
    return [i for i in store.db.table.scan()["Items"] if i.get("type") == "claim_due" and i["claim_id"] == claim_id]


def claim_item(store, token_hash) -> dict:
    return store.db.get(keys.claim_key(token_hash))


def test_a_three_day_claim_is_reminded_once_after_a_day_and_not_before(store, secret):
    # Given a claim expiring in 3 days
    claim, _ = partner_claim(store, secret, days=3)
    t0 = claim.created_at

    # When the schedule runs at t0, at t0+25h and again at t0+26h
    first = claim_schedule.run(store, t0)
    second = claim_schedule.run(store, at(t0, 25))
    third = claim_schedule.run(store, at(t0, 26))

    # Then only the run past the reminder time (48 h before expiry) asks for it, once
    assert (first.reminded, second.reminded, third.reminded) == ([], [claim.claim_id], [])
    (effect,) = reminders(store)
    assert effect.effect_id == f"{claim.claim_id}#reminder"
    assert [i["kind"] for i in due_items(store, claim.claim_id)] == ["expire"]


def test_the_reminder_event_carries_its_own_notification_id_and_a_redelivery_publishes_it_once(store, secret):
    # Given a reminder the schedule asked for
    claim, _ = partner_claim(store, secret, days=3)
    claim_schedule.run(store, at(claim.created_at, 25))
    (effect,) = reminders(store)

    # When the stream delivers its record twice
    published = []
    record = store.db.get(keys.pending_key(effect.kind, effect.effect_id))
    change = read_change("INSERT", None, record)
    assert handle_change(store, change, published.extend, links=linker.claim_links())
    assert handle_change(store, change, published.extend, links=linker.claim_links())

    # Then one ClaimReminderRequested is published, with the reminder's notification id and the claim's link
    (event,) = published
    assert event.detail_type == "ClaimReminderRequested"
    assert event.detail["notification_id"] == f"{claim.claim_id}#reminder"
    assert event.detail["claim_id"] == claim.claim_id and event.detail["expires_at"] == claim.expires_at
    assert reminders(store) == []


def test_a_concurrent_second_run_that_read_the_same_due_items_loses_and_reports_nothing(store, secret, monkeypatch):
    # Given two runs that both read the due reminder and the open claim before either wrote
    claim, _ = partner_claim(store, secret, days=3)
    now = at(claim.created_at, 25)
    due, _ = store.due_claims(now, limit=100)
    read = store.claims_by_hash(d.token_hash for d in due)

    # When the first settles it, its reminder is published meanwhile, and then the second settles what it read
    first = claim_schedule.run(store, now)
    effects.redrive(store, lambda events: None, links=linker.claim_links())
    monkeypatch.setattr(store, "due_claims", lambda now, limit: (due, False))
    monkeypatch.setattr(store, "claims_by_hash", lambda hashes: read)
    second = claim_schedule.run(store, now)

    # Then the second's transaction fails on the claim's guard: no second reminder, nothing reported
    assert first.reminded == [claim.claim_id]
    assert (second.reminded, second.lost) == ([], 1)
    assert reminders(store) == []


def test_a_claimed_or_cancelled_claim_gets_no_reminder_and_its_due_items_are_deleted(store, secret):
    # Given a claim accepted by its buyer and another one cancelled
    email = f"buyer-{uuid.uuid4().hex[:6]}@example.com"
    claimed, _ = partner_claim(store, secret, days=3, email=email)
    buyer = user_principal(email=email, email_verified=True)
    claims.accept_claim(store, buyer, claimed.claim_id, _key())
    cancelled, cancelled_hash = partner_claim(store, secret, days=3)
    store.db.table.update_item(  # the cancel use case's outcome (its own change): the claim is cancelled
        Key=keys.claim_key(cancelled_hash),
        UpdateExpression="SET #s = :c",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":c": "cancelled"},
    )

    # When the schedule runs past both claims' expiry
    result = claim_schedule.run(store, at(claimed.created_at, 24 * 4))

    # Then nothing is reminded or expired, and their due items are gone
    assert (result.reminded, result.expired, result.dropped) == ([], [], 4)
    assert due_items(store, claimed.claim_id) == due_items(store, cancelled.claim_id) == []
    assert claim_item(store, cancelled_hash)["status"] == "cancelled"


def test_an_expired_claim_is_marked_expired_and_drops_out_of_the_recipients_listing(store, secret):
    # Given an open claim its buyer sees
    email = f"buyer-{uuid.uuid4().hex[:6]}@example.com"
    claim, token_hash = partner_claim(store, secret, days=3, email=email)
    buyer = user_principal(email=email, email_verified=True)
    assert [c.claim_id for c in claims.open_claims_of_me(store, buyer, limit=10, cursor=None).claims] == [
        claim.claim_id
    ]

    # When the schedule first runs after it expired
    result = claim_schedule.run(store, at(claim.expires_at, 0.1))

    # Then it just expires (no late reminder), off the recipient indexes, and the listing no longer shows it
    assert (result.reminded, result.expired) == ([], [claim.claim_id])
    item = claim_item(store, token_hash)
    assert item["status"] == "expired" and not {"gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk"} & set(item)
    assert claims.open_claims_of_me(store, buyer, limit=10, cursor=None).claims == []
    assert reminders(store) == [] and due_items(store, claim.claim_id) == []
    assert claim_schedule.run(store, at(claim.expires_at, 1)).summary()["expired"] == 0


def test_a_claim_expiring_within_48_hours_is_reminded_on_the_first_run(store, secret):
    claim, _ = partner_claim(store, secret, days=1)

    result = claim_schedule.run(store, at(claim.created_at, 0.1))

    assert result.reminded == [claim.claim_id]


def test_a_run_settles_at_most_its_limit_and_the_next_run_takes_the_rest(store, secret):
    # Given more claims due than shards (so some shard holds two)
    made = [partner_claim(store, secret, days=1)[0] for _ in range(keys.CLAIM_DUE_SHARDS + 1)]
    now = at(made[-1].created_at, 0.1)

    # When a run may settle one per shard, and the next run settles the rest
    first = claim_schedule.run(store, now, limit=keys.CLAIM_DUE_SHARDS)
    second = claim_schedule.run(store, now)

    # Then the first says more is due, and between them every claim is reminded once
    assert first.more and len(first.reminded) <= keys.CLAIM_DUE_SHARDS
    assert sorted(first.reminded + second.reminded) == sorted(c.claim_id for c in made) and not second.more


# --- any interleaving of runs ---------------------------------------------------------------------------------
START = "2026-03-01T00:00:00.000Z"


def write_claim(store, expires_in_hours: int) -> tuple[Claim, str]:
    claim_id = uuid.uuid4().hex
    claim = Claim(
        claim_id=claim_id,
        org_id="org-arena",
        partner_id=PARTNER,
        profile_id="p",
        order_id="o",
        entitlement_ids=["e"],
        email=f"{claim_id}@example.com",
        status="open",
        expires_at=at(START, expires_in_hours),
        created_at=START,
    )
    tx = store.db.tx()
    add_claim(tx, claim, f"hash-{claim_id}")
    tx.execute(store.db.client)
    return claim, f"hash-{claim_id}"


@contextlib.contextmanager
def reads_from(store, due, read):
    """A run that settles what another read earlier (as two runs overlapping in time do)."""
    real = store.due_claims, store.claims_by_hash
    store.due_claims, store.claims_by_hash = (lambda now, limit: (due, False)), (lambda hashes: read)
    try:
        yield
    finally:
        store.due_claims, store.claims_by_hash = real


run_step = st.tuples(st.integers(0, 120), st.booleans())  # (hour of the run, overlapping another run read earlier)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(expiries=st.lists(st.integers(1, 100), min_size=1, max_size=4), steps=st.lists(run_step, max_size=6))
def test_any_interleaving_of_runs_reminds_each_claim_at_most_once_and_expires_it_after_its_expiry(
    store, expiries, steps
):
    made = [write_claim(store, hours) for hours in expiries]
    ids = {claim.claim_id for claim, _ in made}
    published = []
    reminded = []
    stale = None  # what an overlapping run read, settled after the next run
    for hour, overlapping in [*steps, (200, False)]:
        now = at(START, hour)
        if overlapping and stale is None:
            due, _ = store.due_claims(now, limit=1000)
            stale = (now, due, store.claims_by_hash(d.token_hash for d in due))
            continue
        result = claim_schedule.run(store, now)
        reminded += [(c, now) for c in result.reminded if c in ids]
        if stale is not None:
            then, due, read = stale
            with reads_from(store, due, read):
                late = claim_schedule.run(store, then)
            reminded += [(c, then) for c in late.reminded if c in ids]
            stale = None
        # the stream completes the reminders meanwhile
        effects.redrive(store, published.extend, links=linker.claim_links())

    # Every claim was reminded at most once, never at or after its expiry, and one event each
    by_claim = {claim.claim_id: claim for claim, _ in made}
    assert len(reminded) == len({c for c, _ in reminded})
    assert all(when < by_claim[c].expires_at for c, when in reminded)
    events = [e for e in published if e.detail_type == "ClaimReminderRequested" and e.detail["claim_id"] in ids]
    assert sorted(e.detail["claim_id"] for e in events) == sorted(c for c, _ in reminded)
    # and after the last run (past every expiry) each is expired, with nothing left due
    for claim, token_hash in made:
        assert claim_item(store, token_hash)["status"] == "expired"
        assert due_items(store, claim.claim_id) == []


def _key() -> bytes:
    from customer_profiles.edge.secrets import claim_token_key

    return claim_token_key()
