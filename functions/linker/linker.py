"""Stream-triggered function: completes the pending effects the table's stream announces (linking,
re-keying, events, claim notifications), writes the activity trails and keeps the identification report's
tallies from every record, and, on its schedule, re-drives the effects left pending and runs the claim
schedule (reminders and expiry).

Each record is handled on its own; every effect is idempotent and deleted only once done, so Powertools'
BatchProcessor may go on after a failed record (Lambda re-delivers from the lowest failed sequence number)
and a redelivery changes nothing. Failures are reported per record, each logged with its cause.
"""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from customer_profiles.data.changes import read_record
from customer_profiles.data.store import Store
from customer_profiles.domain.claims import claim_schedule
from customer_profiles.domain.effects import effects
from customer_profiles.domain.effects.activity import Recorded
from customer_profiles.domain.effects.stream import handle_change, record_activity, record_tallies
from customer_profiles.edge.config import EffectSettings, LinkerSettings, settings
from customer_profiles.edge.events import default_publisher
from customer_profiles.edge.logs import forget_personal, masked_logger, remember_personal
from customer_profiles.edge.secrets import claim_token_key
from customer_profiles.edge.stores import store_factory
from customer_profiles.edge.tracing import LazyTracer
from customer_profiles.ports.effects import ClaimLinks, OtherChange, StreamRecord

logger = masked_logger()
settings(LinkerSettings)  # checked at import: a deployment missing one fails its first cold start, loudly
tracer = LazyTracer()
metrics = Metrics()
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)
# The stream normally completes an effect within seconds; the sweep leaves younger ones to it, and makes one pass
# a run: what that pass leaves (a link's re-keys) waits for the next run, the pending index having caught up.
SWEEP = effects.RedrivePolicy(settle=timedelta(minutes=5), rounds=1)
# A scheduled run gives the sweep at most this share of the time it starts with, so that a backlog, or an effect
# that keeps failing slowly, never keeps the claim schedule from running; what is left waits for the next run.
SWEEP_SHARE = 0.5
# The claim schedule stops taking new due items when less is left of the invocation (the rest: next run).
CLAIM_SCHEDULE_RESERVE_MS = 5_000


store = store_factory(lambda: settings(LinkerSettings))


def publish(events: list[effects.DomainEvent]) -> None:
    default_publisher().publish(events)
    logger.info("published", extra={"events": [e.detail_type for e in events]})


def claim_links() -> ClaimLinks:
    """Where claim links point, and the key of their tokens (fetched only when a claim notice is built)."""
    return ClaimLinks(settings(EffectSettings).claim_url_base, claim_token_key)


@tracer.capture_method
def handle_record(record: DynamoDBRecord) -> None:
    raw = record.raw_event.get("dynamodb") or {}
    forget_personal()  # what this record holds is masked in every log line it leads to
    remember_personal({"new": raw.get("NewImage"), "old": raw.get("OldImage")})
    where = {"keys": raw.get("Keys"), "sequence_number": raw.get("SequenceNumber")}
    try:
        read = read_record(record.raw_event)
    except Exception:  # a pending effect that is none: the record fails, and its work is not lost
        logger.exception("record failed", extra=where)
        raise
    if isinstance(read.change, OtherChange) and read.change.unreadable:
        logger.warning("item unreadable as its model", extra={**where, "why": read.change.unreadable})
    failure: Exception | None = None
    acted = False
    try:
        acted = handle_change(store(), read.change, publish, links=claim_links())
    except Exception as error:
        logger.exception("record failed", extra=where)
        failure = error
    # Attempted even when the effect failed, and the other way round: the record is reported failed and
    # comes again, and both are idempotent (a done effect is gone; an entry written is kept by its key).
    # Entries that cannot be written are left as a pending effect; only if that fails is the record failed.
    # The identification report's tallies, the same way.
    entries, entries_failed = _keep("activity", "ActivityDeferred", record_activity, read, where)
    tallies, tallies_failed = _keep("tallies", "TalliesDeferred", record_tallies, read, where)
    failure = failure or entries_failed or tallies_failed
    if failure:
        raise failure
    if entries.written:
        metrics.add_metric(name="ActivityEntriesWritten", unit=MetricUnit.Count, value=entries.written)
    if tallies.written:
        metrics.add_metric(name="TalliesChanged", unit=MetricUnit.Count, value=tallies.written)
    if not (acted or entries.written or entries.deferred or tallies.written or tallies.deferred):
        metrics.add_metric(name="RecordsIgnored", unit=MetricUnit.Count, value=1)


def _keep(
    what: str, deferred_metric: str, keep: Callable[[Store, StreamRecord], Recorded], read: StreamRecord, where: Any
) -> tuple[Recorded, Exception | None]:
    """What the record adds to the activity trails or the report's tallies, kept now or left pending (logged
    and counted); the error when neither could be done."""
    try:
        recorded = keep(store(), read)
    except Exception as error:
        logger.exception(f"{what} failed", extra=where)
        return Recorded(), error
    if recorded.deferred:  # written down as a pending effect: the stream or the sweep completes it
        logger.warning(f"{what} deferred", extra=where, exc_info=recorded.deferred)
        metrics.add_metric(name=deferred_metric, unit=MetricUnit.Count, value=1)
    return recorded, None


def sweep(stop: Callable[[], bool]) -> dict[str, Any]:
    """The schedule's re-drive (`SWEEP`): report the oldest pending effect's age, and complete those the stream
    left, oldest first, until `stop` says the time is up (those not tried are `left` for the next run)."""
    result = effects.redrive(store(), publish, SWEEP, links=claim_links(), stop=stop)
    metrics.add_metric(name="OldestPendingEffectSeconds", unit=MetricUnit.Seconds, value=result.oldest_seconds)
    for failure in result.failed:
        logger.error("pending effect failed again", extra={"failure": failure})
    if result.left:
        logger.warning("sweep stopped for time: the rest waits for the next run", extra={"left": result.left})
    return {"pending": result.pending, "redriven": result.done, "failed": len(result.failed), "left": result.left}


def scheduled_run(context: LambdaContext) -> dict[str, Any]:
    """The schedule's work: the sweep, within its share of the time, then the claim schedule, whatever the
    sweep did (a sweep that fails is logged; its missing metric is the pending-effect alarm's breach)."""
    sweep_until = context.get_remaining_time_in_millis() * (1 - SWEEP_SHARE)
    try:
        swept = sweep(stop=lambda: context.get_remaining_time_in_millis() < sweep_until)
    except Exception as error:
        logger.exception("sweep failed")
        swept = {"sweep_error": type(error).__name__}
    return {**swept, "claims": claim_reminders_and_expiry(context)}


def claim_reminders_and_expiry(context: LambdaContext) -> dict[str, Any]:
    """The schedule's other work: claims' reminders and expiries that have fallen due."""
    now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    result = claim_schedule.run(
        store(), now, stop=lambda: context.get_remaining_time_in_millis() < CLAIM_SCHEDULE_RESERVE_MS
    )
    metrics.add_metric(name="ClaimRemindersRequested", unit=MetricUnit.Count, value=len(result.reminded))
    metrics.add_metric(name="ClaimsExpired", unit=MetricUnit.Count, value=len(result.expired))
    summary = result.summary()
    claims = {"reminded_claims": result.reminded, "expired_claims": result.expired}
    logger.info("claim schedule", extra={**summary, **claims})
    for failure in result.failed:
        logger.error("claim schedule item failed", extra={"failure": failure})
    return summary


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if "Records" not in event:  # the EventBridge schedule
        return scheduled_run(context)
    if not event["Records"]:  # Powertools refuses an empty batch; Lambda never sends one, a person might
        return {"batchItemFailures": []}
    return dict(
        process_partial_response(event=event, record_handler=handle_record, processor=processor, context=context)
    )
