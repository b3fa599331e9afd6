"""Reading of the importer's messages by consumers that take the raw Kafka
message, so that a message that can never be parsed is skipped instead of
redelivered forever."""

import uuid
from dataclasses import dataclass

import structlog
from faststream.kafka import KafkaMessage
from pydantic import TypeAdapter, ValidationError

from shared.contracts import ImportEvent
from shared.kafka import CORRELATION_HEADER, event_id_from_headers
from shared.logging import correlation_id_var

_import_event = TypeAdapter(ImportEvent)


@dataclass(frozen=True)
class ImportMessage:
    """An import event with its id and a logger bound to where it came from."""

    event_id: uuid.UUID
    event: ImportEvent
    log: structlog.stdlib.BoundLogger


def read_import_message(
    message: KafkaMessage, logger: structlog.stdlib.BoundLogger, **context: str
) -> ImportMessage | None:
    """Bind the message's correlation id and return its event, or log
    ``import_message_rejected`` and return None when it has no valid ``ce_id``
    or its body is not an import event.

    NOTE: a rejected message is only in the logs. A dead-letter topic would
    let an operator replay it once the producer is fixed.
    """
    headers = {key: str(value) for key, value in message.headers.items()}
    correlation_id = headers.get(CORRELATION_HEADER)
    correlation_id_var.set(correlation_id)
    structlog.contextvars.bind_contextvars(correlation_id=correlation_id)
    raw = message.raw_message
    log = logger.bind(
        **context,
        topic=raw.topic,
        partition=raw.partition,
        offset=raw.offset,
        message_id=headers.get("ce_id"),
    )

    try:
        event_id = event_id_from_headers(headers)
        event = _import_event.validate_json(message.body)
    except (ValueError, ValidationError) as exc:
        log.error("import_message_rejected", error=str(exc))
        return None
    return ImportMessage(event_id, event, log)
