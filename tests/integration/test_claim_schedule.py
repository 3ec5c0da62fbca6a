"""Claim reminders and expiry end to end on the local runtime: a partner order over HTTP, the operator's
`run-schedule` at a moved clock, the reminder published through the stream exactly once, then the expiry."""

import contextlib
import io
import time
import uuid
from datetime import datetime, timedelta

import pytest

from scripts.operator import main as operator
from tests.integration.test_partners import deliver, order, register_partner

pytestmark = pytest.mark.integration


def run_schedule(runtime, now: datetime) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = operator(["--endpoint", runtime.dynamodb_endpoint, "run-schedule", "--now", now.isoformat()])
    assert code == 0
    return out.getvalue()


def reminders_of(runtime, email):
    return [
        e for e in runtime.published() if e["detail-type"] == "ClaimReminderRequested" and e["detail"]["email"] == email
    ]


def test_run_schedule_publishes_one_reminder_before_expiry_and_then_expires_the_claim(runtime):
    # Given a partner order whose claim expires in the template's ClaimExpiryDays, seen by its buyer
    org_id = f"org-{uuid.uuid4().hex[:6]}"
    partner_id, secret = register_partner(runtime, org_id)
    email = f"remind-{uuid.uuid4().hex[:6]}@example.com"
    accepted = deliver(runtime, partner_id, secret, order(org_id, email))
    assert accepted.status_code == 201, accepted.text
    expires_at = datetime.fromisoformat(accepted.json()["claim_expires_at"])
    buyer = runtime.token(email=email, email_verified=True)
    assert runtime.call("PUT", "/v1/me", buyer).status_code in (200, 201)
    listed = runtime.call("GET", "/v1/me/claims", buyer).json()["claims"]
    assert len(listed) == 1

    # When the schedule runs 47 hours before the claim expires (its reminder is due), twice
    first = run_schedule(runtime, expires_at - timedelta(hours=47))
    (reminder,) = runtime.wait_for(lambda: reminders_of(runtime, email))
    second = run_schedule(runtime, expires_at - timedelta(hours=47))

    # Then one ClaimReminderRequested is published, with the reminder's own notification id and the link
    assert "reminders requested" in first and second.split(": ", 1)[1].startswith("0 reminders requested")
    claim_id = listed[0]["claim_id"]
    assert reminder["detail"]["notification_id"] == f"{claim_id}#reminder"
    assert reminder["detail"]["claim_url"].startswith("http")
    time.sleep(1.5)  # what the second run might have asked for would reach the sink through the stream by now
    assert len(reminders_of(runtime, email)) == 1

    # And once past its expiry the schedule marks it expired: the buyer no longer sees it
    run_schedule(runtime, expires_at + timedelta(minutes=1))
    assert runtime.call("GET", "/v1/me/claims", buyer).json()["claims"] == []
    assert len(reminders_of(runtime, email)) == 1
