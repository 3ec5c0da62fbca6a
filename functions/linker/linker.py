"""Stream-triggered function: turns table changes into linking work and domain events.

Each record is handled on its own and every write it makes is guarded by the state it expects, so
Powertools' BatchProcessor may go on after a failed record (Lambda re-delivers from the lowest failed
sequence number) without a later record undoing an earlier one. Failures are reported per record.
"""

from functools import lru_cache
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from customer_profiles.data.store import Store
from customer_profiles.domain.stream import handle_change
from customer_profiles.edge.config import require, settings
from customer_profiles.edge.events import default_publisher

logger = Logger()
require(
    "TABLE_NAME", ("EVENT_BUS_NAME", "LOCAL_EVENT_SINK"), ("CLAIM_TOKEN_KEY_SECRET", "LOCAL_CLAIM_TOKEN_KEY_FILE")
)  # a missing variable fails the cold start, naming it
tracer = Tracer()
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


@lru_cache(maxsize=1)
def store() -> Store:
    return Store(settings().table_name)


@tracer.capture_method
def handle_record(record: DynamoDBRecord) -> None:
    change = record.dynamodb
    assert change is not None
    event_name = record.event_name.name if record.event_name else ""
    events = handle_change(store(), event_name, change.old_image, change.new_image)
    if events:
        default_publisher().publish(events)
        logger.info("published", extra={"events": [e.detail_type for e in events]})


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return dict(
        process_partial_response(event=event, record_handler=handle_record, processor=processor, context=context)
    )
