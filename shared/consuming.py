"""Reading of the importer's messages by consumers that take the raw Kafka
message, so that a message that can never be parsed is skipped instead of
redelivered forever. Each message carries a batch of events (see
``shared.contracts.topics``)."""

import uuid
from dataclasses import dataclass
from functools import cached_property

import structlog
from aiokafka import ConsumerRecord
from faststream.kafka import KafkaMessage
from pydantic import TypeAdapter, ValidationError

from shared.contracts import ImportBatch, ImportEvent
from shared.kafka import CORRELATION_HEADER, event_id_from_headers
from shared.logging import correlation_id_var

_import_batch = TypeAdapter(ImportBatch)


@dataclass(frozen=True)
class ImportMessage:
    """The import events of one message, in their order, with the message's
    id, its correlation id and a logger bound to where it came from."""

    event_id: uuid.UUID
    events: list[ImportEvent]
    correlation_id: str | None
    logger: structlog.stdlib.BoundLogger
    context: dict[str, object]

    @cached_property
    def log(self) -> structlog.stdlib.BoundLogger:
        """The logger bound to the message's topic, partition, offset and ids,
        made on first use: a batch of thousands of messages logs few of them."""
        return self.logger.bind(**self.context)


def read_import_message(
    message: KafkaMessage, logger: structlog.stdlib.BoundLogger, **context: str
) -> ImportMessage | None:
    """Bind the message's correlation id and return its events, or log
    ``import_message_rejected`` and return None when it has no valid ``ce_id``
    or its body is not a JSON array of import events.

    NOTE: a rejected message is only in the logs. A dead-letter topic would
    let an operator replay it once the producer is fixed.
    """
    headers = {key: str(value) for key, value in message.headers.items()}
    correlation_id = headers.get(CORRELATION_HEADER)
    correlation_id_var.set(correlation_id)
    structlog.contextvars.bind_contextvars(correlation_id=correlation_id)
    raw = message.raw_message
    return _read(headers, message.body, raw, logger, context)


def read_import_record(
    record: ConsumerRecord, logger: structlog.stdlib.BoundLogger, **context: str
) -> ImportMessage | None:
    """Return the events of one record of a batch, as ``read_import_message``
    does, but bind its correlation id to its logger only: the records of one
    batch may come from several imports."""
    # A header that is not UTF-8, or has no value, reads as text all the
    # same: a ``ce_id`` made unreadable this way rejects the record below.
    headers = {
        key: "" if value is None else value.decode(errors="replace")
        for key, value in record.headers
    }
    return _read(headers, record.value or b"", record, logger, context)


def _read(
    headers: dict[str, str],
    body: bytes,
    raw: ConsumerRecord,
    logger: structlog.stdlib.BoundLogger,
    context: dict[str, str],
) -> ImportMessage | None:
    correlation_id = headers.get(CORRELATION_HEADER)
    context = {
        **context,
        "topic": raw.topic,
        "partition": raw.partition,
        "offset": raw.offset,
        "message_id": headers.get("ce_id"),
        "correlation_id": correlation_id,
    }

    try:
        event_id = event_id_from_headers(headers)
        events = _import_batch.validate_json(body)
    except (ValueError, ValidationError) as exc:
        logger.bind(**context).error("import_message_rejected", error=str(exc))
        return None
    return ImportMessage(event_id, events, correlation_id, logger, context)
