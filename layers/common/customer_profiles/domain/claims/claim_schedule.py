"""The claim schedule: each open claim's reminder (`ClaimReminderRequested`, 48 hours before it expires,
exactly once) and its expiry (open -> expired once `expires_at` has passed).

`add_claim` writes when each falls due with the claim itself, so no claim lacks them; a run reads what is due
(strongly consistent), reads the claims again (strongly consistent), and settles each due item in one
transaction guarded by the claim's state. A concurrent or repeated run loses that transaction and reports
nothing; a crash leaves either nothing written or everything, and the reminder itself is a pending effect
the stream completes (docs/decisions.md, "Claim reminders and expiry").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from customer_profiles.errors import ConcurrentWrite
from customer_profiles.models.domain import Claim
from customer_profiles.ports.claims import ClaimDue, ClaimSchedule

# Due items settled per run at most (the rest wait for the next run, oldest first): about 10-20 ms each, so a
# full run stays well inside the linker's 60 seconds. 1,000 per 5 minutes is 12,000 an hour.
RUN_LIMIT = 1000


@dataclass
class ScheduleRun:
    reminded: list[str] = field(default_factory=list)  # claim ids whose reminder was requested
    expired: list[str] = field(default_factory=list)  # claim ids marked expired
    dropped: int = 0  # due items with nothing left to do (the claim is no longer open, or expired first)
    lost: int = 0  # settled meanwhile by a concurrent run or change: nothing written, looked at again next run
    failed: list[str] = field(default_factory=list)  # what failed, left for the next run
    more: bool = False  # more was due than one run settles

    def summary(self) -> dict[str, int | bool]:
        return {
            "reminded": len(self.reminded),
            "expired": len(self.expired),
            "dropped": self.dropped,
            "lost": self.lost,
            "failed": len(self.failed),
            "more": self.more,
        }


def run(
    store: ClaimSchedule, now: str, *, limit: int = RUN_LIMIT, stop: Callable[[], bool] = lambda: False
) -> ScheduleRun:
    """Settle what is due at `now` (an ISO instant as `utc_now` writes it): at most `limit` due items, and
    none once `stop()` says the time is up."""
    result = ScheduleRun()
    due, result.more = store.due_claims(now, limit=limit)
    claims = store.claims_by_hash(d.token_hash for d in due)
    for item in due:
        if stop():
            result.more = True
            break
        try:
            _settle(store, item, claims.get(item.token_hash), now, result)
        except ConcurrentWrite:
            result.lost += 1  # another run, an acceptance or a cancellation won; nothing was written
        except Exception as error:  # one failing item must not stop the others
            result.failed.append(f"{item.kind} {item.claim_id}: {type(error).__name__}: {error}")
    return result


def _settle(store: ClaimSchedule, due: ClaimDue, claim: Claim | None, now: str, result: ScheduleRun) -> None:
    if claim is None or claim.status != "open":
        store.drop_claim_due(due)
        result.dropped += 1
    elif due.kind == "remind":
        if claim.expires_at <= now:  # past its reminder and its expiry: it just expires
            store.drop_claim_due(due)
            result.dropped += 1
            return
        store.remind_claim(due, claim, now)
        result.reminded.append(claim.claim_id)
    elif claim.expires_at <= now:
        store.expire_claim(due, now)
        result.expired.append(claim.claim_id)
