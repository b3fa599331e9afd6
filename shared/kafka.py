"""CloudEvents-style Kafka headers, following the binary content mode of the
CloudEvents Kafka protocol binding: attributes travel as ``ce_*`` headers and
the payload is the message value.
https://github.com/cloudevents/spec/blob/v1.0.2/cloudevents/bindings/kafka-protocol-binding.md
"""

import uuid
from datetime import UTC, datetime

from pydantic import BaseModel

CORRELATION_HEADER = "correlation_id"


def cloudevent_headers(
    event: BaseModel,
    *,
    source: str,
    subject: str,
    correlation_id: str | None,
    event_id: uuid.UUID | None = None,
    time: datetime | None = None,
) -> dict[str, str]:
    """Return the headers of one event; ``ce_type`` repeats the payload's type."""
    return typed_cloudevent_headers(
        event.type,
        source=source,
        subject=subject,
        correlation_id=correlation_id,
        event_id=event_id,
        time=time,
    )


def typed_cloudevent_headers(
    event_type: str,
    *,
    source: str,
    subject: str,
    correlation_id: str | None,
    event_id: uuid.UUID | None = None,
    time: datetime | None = None,
) -> dict[str, str]:
    """Return the headers of one event of type ``event_type``, for a payload
    already serialised."""
    headers = {
        "ce_specversion": "1.0",
        "ce_id": str(event_id or uuid.uuid4()),
        "ce_source": source,
        "ce_type": event_type,
        "ce_time": (time or datetime.now(UTC)).isoformat(),
        "ce_subject": subject,
        "content-type": "application/json",
    }
    if correlation_id:
        headers[CORRELATION_HEADER] = correlation_id
    return headers


def event_id_from_headers(headers: dict[str, str]) -> uuid.UUID:
    """Return the event id of a consumed message, or raise ValueError if the
    producer did not set a valid ``ce_id`` header."""
    raw = headers.get("ce_id")
    if raw is None:
        raise ValueError("message has no ce_id header; cannot deduplicate it")
    return uuid.UUID(raw)
