"""The linker function: every record shape a DynamoDB stream can send, partial batch failures with their
cause logged, and the scheduled sweep. On moto."""

import copy
import json
import logging

import pytest

import linker
from customer_profiles.data.codec import pending_to_item
from customer_profiles.data.stream_images import plain_image
from customer_profiles.models.domain import PendingEffect
from tests.unit import test_partners
from tests.unit.conftest import EVENTS_DIR, FakeContext
from tests.unit.test_claim_schedule import partner_claim

pytestmark = pytest.mark.usefixtures("aws", "reset_handler_caches")
secret = test_partners.secret  # the partner and its signing secret, as a fixture


def stream_event():
    return json.loads((EVENTS_DIR / "linker-user-registered.json").read_text())


def pending_in_table(store, event):
    for record in event["Records"]:
        store.db.table.put_item(Item=plain_image(record["dynamodb"]["NewImage"]))


def published(tmp_path):
    sink = tmp_path / "events.jsonl"
    return [json.loads(line) for line in sink.read_text().splitlines()] if sink.exists() else []


def test_a_bad_record_is_reported_alone_with_its_cause_logged_and_the_rest_are_processed(store, tmp_path, caplog):
    # Given a batch of a malformed pending record followed by a good one
    event = stream_event()
    pending_in_table(store, event)
    good = event["Records"][0]
    bad = copy.deepcopy(good)
    bad["dynamodb"]["SequenceNumber"] = "111100000000000000000000"
    del bad["dynamodb"]["NewImage"]["created_at"]
    event["Records"] = [bad, good]

    # When the linker runs
    with caplog.at_level(logging.ERROR):
        result = linker.handler(event, FakeContext())

    # Then only the bad record is reported, its keys and sequence number logged, and the good one published
    assert result == {"batchItemFailures": [{"itemIdentifier": "111100000000000000000000"}]}
    assert [e["detail-type"] for e in published(tmp_path)] == ["UserRegistered"]
    failure = next(r for r in caplog.records if r.getMessage() == "record failed")
    assert failure.sequence_number == "111100000000000000000000" and failure.keys["sk"] == {"S": "PENDING"}


def test_a_redelivered_record_publishes_nothing_twice(store, tmp_path):
    event = stream_event()
    pending_in_table(store, event)

    assert linker.handler(event, FakeContext()) == {"batchItemFailures": []}
    assert linker.handler(copy.deepcopy(event), FakeContext()) == {"batchItemFailures": []}

    assert [e["detail-type"] for e in published(tmp_path)] == ["UserRegistered"]


def record(event_name, new_image=None, old_image=None, **extra):
    change = {
        "Keys": {"pk": {"S": "X"}, "sk": {"S": "Y"}},
        "SequenceNumber": "2",
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    if new_image is not None:
        change["NewImage"] = new_image
    if old_image is not None:
        change["OldImage"] = old_image
    return {"eventID": "1", "eventName": event_name, "eventSource": "aws:dynamodb", "dynamodb": change, **extra}


ODD_IMAGE = {
    "pk": {"S": "ORG#o#PROFILE#p"},
    "sk": {"S": "PROFILE"},
    "type": {"S": "profile"},
    "attributes": {},  # DynamoDB Local's empty map
    "tags": {"L": []},
    "nothing": {"NULL": True},
    "blob": {"B": "AAEC"},
    "numbers": {"NS": ["1", "2.5"]},
    "blobs": {"BS": ["AAEC"]},
    "words": {"SS": ["a"]},
    "ok": {"BOOL": True},
}


@pytest.mark.parametrize(
    "shape",
    [
        record("INSERT", ODD_IMAGE),
        record("MODIFY", ODD_IMAGE, ODD_IMAGE),
        record("REMOVE", old_image=ODD_IMAGE),
        record(
            "REMOVE", old_image=ODD_IMAGE, userIdentity={"type": "Service", "principalId": "dynamodb.amazonaws.com"}
        ),
        record("INSERT", {"pk": {"S": "SOMETHING#new"}, "sk": {"S": "UNKNOWN"}, "type": {"S": "future_item"}}),
    ],
    ids=["insert-odd-shapes", "modify", "remove", "ttl-delete", "unknown-item"],
)
def test_every_record_shape_is_read_and_what_asks_for_nothing_is_ignored(shape, tmp_path):
    assert linker.handler({"Records": [shape]}, FakeContext()) == {"batchItemFailures": []}
    assert published(tmp_path) == []


def test_the_tolerant_reader_turns_each_type_into_a_plain_value():
    assert plain_image(ODD_IMAGE) == {
        "pk": "ORG#o#PROFILE#p",
        "sk": "PROFILE",
        "type": "profile",
        "attributes": {},
        "tags": [],
        "nothing": None,
        "blob": b"\x00\x01\x02",
        "numbers": {1, plain_image({"n": {"N": "2.5"}})["n"]},
        "blobs": {b"\x00\x01\x02"},
        "words": {"a"},
        "ok": True,
    }


def test_the_scheduled_sweep_completes_stale_effects_and_leaves_fresh_ones_to_the_stream(store, tmp_path):
    stale = PendingEffect(
        kind="publish",
        effect_id="old",
        cause={"detail_type": "Old", "detail": {}},
        created_at="2026-01-01T00:00:00.000Z",
    )
    fresh = PendingEffect(
        kind="publish",
        effect_id="new",
        cause={"detail_type": "New", "detail": {}},
        created_at="2999-01-01T00:00:00.000Z",
    )
    for effect in (stale, fresh):
        store.db.table.put_item(Item=pending_to_item(effect))

    answer = linker.handler({"source": "aws.events", "detail-type": "Scheduled Event"}, FakeContext())

    assert {k: answer[k] for k in ("pending", "redriven", "failed")} == {"pending": 2, "redriven": 1, "failed": 0}
    assert [e["detail-type"] for e in published(tmp_path)] == ["Old"]
    assert store.all_pending() == [fresh]


def test_an_empty_batch_is_answered_with_no_failures():
    assert linker.handler({"Records": []}, FakeContext()) == {"batchItemFailures": []}


def test_the_schedule_also_asks_for_claims_due_reminders_and_answers_what_it_did(store, secret, tmp_path):
    # Given a claim expiring within 48 hours (reminded on the first run)
    claim, _ = partner_claim(store, secret, days=1)

    # When the schedule fires twice
    first = linker.handler({"source": "aws.events", "detail-type": "Scheduled Event"}, FakeContext())
    second = linker.handler({"source": "aws.events", "detail-type": "Scheduled Event"}, FakeContext())

    # Then the first asks for the reminder (a pending effect the stream publishes), the second for nothing
    assert (first["claims"]["reminded"], second["claims"]["reminded"]) == (1, 0)
    assert [e.effect_id for e in store.all_pending() if e.effect_id.endswith("#reminder")] == [
        f"{claim.claim_id}#reminder"
    ]


class ClockedContext(FakeContext):
    """A Lambda context whose remaining time runs out as the handler works: each read of it costs `step` ms."""

    def __init__(self, remaining: int = 60_000, step: int = 0) -> None:
        self.remaining, self.step = remaining, step

    def get_remaining_time_in_millis(self) -> int:
        self.remaining -= self.step
        return self.remaining


def stale_effects(store, count):
    for index in range(count):
        effect = PendingEffect(
            kind="publish",
            effect_id=f"old-{index}",
            cause={"detail_type": f"Old{index}", "detail": {}},
            created_at=f"2026-01-01T00:00:{index:02d}.000Z",
        )
        store.db.table.put_item(Item=pending_to_item(effect))


def test_the_sweep_stops_within_its_share_of_the_time_and_the_claim_schedule_still_runs(store, secret, tmp_path):
    # Given a backlog of 10 stale effects, and a claim due for its reminder
    stale_effects(store, 10)
    claim, _ = partner_claim(store, secret, days=1)

    # When a scheduled run's time runs out while it sweeps (60 s, each look at the clock costs 4 s)
    answer = linker.handler({"source": "aws.events"}, ClockedContext(remaining=60_000, step=4_000))

    # Then the sweep took the oldest effects until half the time was gone and left the rest for the next run,
    # and the claim schedule ran after it
    assert (answer["redriven"], answer["failed"], answer["left"]) == (7, 0, 3)
    assert [e["detail-type"] for e in published(tmp_path)] == [f"Old{i}" for i in range(7)]
    assert answer["claims"]["reminded"] == 1

    # and the next run, with time enough, finishes the backlog and asks for nothing twice
    answer = linker.handler({"source": "aws.events"}, ClockedContext())
    assert (answer["redriven"], answer["left"], answer["claims"]["reminded"]) == (3, 0, 0)
    assert [e.effect_id for e in store.all_pending() if e.effect_id.startswith("old-")] == []
    assert claim.claim_id


def test_a_sweep_that_fails_is_logged_and_the_claim_schedule_runs_anyway(store, secret, monkeypatch, caplog):
    # Given a claim due for its reminder, and a table read that fails for the sweep
    claim, _ = partner_claim(store, secret, days=1)

    def unreadable():
        raise RuntimeError("the pending index is unreadable")

    monkeypatch.setattr(linker.store(), "all_pending", unreadable)

    # When the schedule fires
    with caplog.at_level(logging.ERROR):
        answer = linker.handler({"source": "aws.events"}, ClockedContext())

    # Then the failure is logged and answered, and the claim's reminder was still asked for
    assert answer["sweep_error"] == "RuntimeError"
    assert "sweep failed" in caplog.text
    assert answer["claims"]["reminded"] == 1
    assert claim.claim_id
