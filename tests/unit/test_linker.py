import copy
import json

import pytest

import linker
from tests.unit.conftest import EVENTS_DIR, FakeContext

pytestmark = pytest.mark.usefixtures("aws", "reset_handler_caches")


def stream_event():
    return json.loads((EVENTS_DIR / "linker-user-registered.json").read_text())


def test_a_bad_record_is_reported_alone_and_the_rest_are_processed(tmp_path):
    # Given a batch of a malformed user record followed by a good one
    event = stream_event()
    good = event["Records"][0]
    bad = copy.deepcopy(good)
    bad["dynamodb"]["SequenceNumber"] = "111100000000000000000000"
    del bad["dynamodb"]["NewImage"]["created_at"]
    event["Records"] = [bad, good]

    # When the linker runs
    result = linker.handler(event, FakeContext())

    # Then only the bad record is reported, and the good one was published
    assert result == {"batchItemFailures": [{"itemIdentifier": "111100000000000000000000"}]}
    assert len((tmp_path / "events.jsonl").read_text().splitlines()) == 1


def test_changes_that_mean_nothing_publish_nothing(tmp_path):
    event = stream_event()
    event["Records"][0]["eventName"] = "MODIFY"

    assert linker.handler(event, FakeContext()) == {"batchItemFailures": []}
    assert not (tmp_path / "events.jsonl").exists()
