"""Transactional outbox: events are written in the same database transaction as
the change they describe, then published to Kafka by a relay.

Ordering. The relay publishes rows in ``id`` order and waits for Kafka to
acknowledge a batch before marking it published. Two changes to the same key
are serialised by the row lock their state change takes. Each inserts its
outbox row after taking that lock, so their ids follow their commit order and
their events reach the key's partition in that order. Only one relay per
schema publishes at a time (a transaction-level advisory lock), otherwise two
replicas could interleave one key's events.

Grouping. The events of one ``enqueue_many`` or ``enqueue_payloads`` call
share rows, up to ``GROUP_MAX_EVENTS`` consecutive events of one topic per
row (see the ``000_outbox_grouped`` migration), and the relay publishes each
as its own Kafka message, keyed, typed and identified as if it had a row of
its own. A full import writes millions of events: one row each cost more
than reading the files (the insert, the relay's read and its update). The
``outbox_events`` view shows one line per event. On a batched topic (see
``shared.contracts.topics``), the events of one row that share a partition
are published together as one message instead.

Delivery is at least once: a relay that dies between Kafka's acknowledgement
and the update re-publishes that batch, with the same ``ce_id`` headers, and
consumers drop what they have already applied (see ``shared.inbox``). Rows
still unpublished are never skipped, because the relay looks for
``published_at IS NULL`` rather than for ids above a high-water mark, which a
transaction committing late could fall under.
"""

import asyncio
import json
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.errors import MessageSizeTooLargeError
from aiokafka.producer.message_accumulator import BatchBuilder
from aiokafka.record.default_records import DefaultRecordBatchBuilder
from pydantic import BaseModel

from shared.contracts.topics import BATCH_TYPES
from shared.kafka import key_partition, typed_cloudevent_headers
from shared.logging import correlation_id_var, get_logger

logger = get_logger(__name__)


# The largest Kafka request the producer sends. The broker's default limit
# for one message (message.max.bytes) is about the same.
MAX_REQUEST_BYTES = 1_048_576

# Codec of the batches the relay sends to Kafka. zstd shrinks an import's
# JSON events several times for little processor time. Every process that
# sends, stores or fetches those bytes then does less: in one first import
# at 100,000 pupils, the importer, links and Kafka together used 1.4 s less
# processor time than without compression.
COMPRESSION = "zstd"

# The largest value of a message of a batched topic, unless one event alone
# is larger. Well below the broker's limit, so that a batch and its headers
# always fit.
BATCH_MAX_BYTES = 256 * 1024

# Events per grouped row. A row is read, published and marked in one piece.
# On a batched topic of 6 partitions, a full row then gives messages of about
# 330 events, as rows of 1,000 gave with 3 partitions.
GROUP_MAX_EVENTS = 2000
# An event whose payload and key (sent twice: as the key and as ce_subject)
# are longer gets a row of its own, so that the relay can set it aside alone
# if Kafka rejects it.
GROUP_MAX_EVENT_CHARS = 64 * 1024

_OUTBOX_COLUMNS = (
    "event_id",
    "topic",
    "key",
    "type",
    "payload",
    "headers",
    "messages",
    "message_count",
)


def _outbox_row(
    topic: str,
    key: str,
    event_type: str,
    payload: str | None,
    source: str,
    correlation_id: str | None,
    time: datetime | None = None,
    *,
    event_id: uuid.UUID | None = None,
    messages: str | None = None,
    message_count: int = 1,
) -> tuple:
    """Return the values of ``_OUTBOX_COLUMNS`` for one event, or for grouped
    events with their first event's fields and their ``messages``."""
    event_id = event_id or uuid.uuid4()
    headers = typed_cloudevent_headers(
        event_type,
        source=source,
        subject=key,
        correlation_id=correlation_id,
        event_id=event_id,
        time=time,
    )
    return (
        event_id,
        str(topic),
        key,
        event_type,
        payload,
        json.dumps(headers),
        messages,
        message_count,
    )


def _grouped_row(
    topic: str,
    events: list[tuple[str, str, str]],
    source: str,
    correlation_id: str | None,
    time: datetime,
) -> tuple:
    """Return the outbox row of ``(key, type, payload)`` events of one topic:
    one line each in ``messages``, the first event's fields and headers in
    the other columns. The events' ids derive from the first's (see
    ``grouped_event_id``)."""
    key, event_type, _ = events[0]
    return _outbox_row(
        topic,
        key,
        event_type,
        None,
        source,
        correlation_id,
        time,
        messages="".join(
            f"{key}\t{event_type}\t{payload}\n" for key, event_type, payload in events
        ),
        message_count=len(events),
    )


def grouped_event_id(first_event_id: str, position: int) -> str:
    """Return the id of the event at ``position`` (0 for the first) of a
    grouped row whose first event has the id ``first_event_id``.

    The position is XORed into the id's last 48 bits, its node field, which
    is random in a version 4 UUID. So the ids of one row differ, keep their
    version and variant, and are the same each time the row is relayed. A
    first import writes millions of events, and drawing and storing an id
    for each cost more than deriving the ids of the few that need one.
    """
    node = int(first_event_id[24:], 16) ^ position
    return f"{first_event_id[:24]}{node:012x}"


def _groupable(key: str, event_type: str, payload: str) -> bool:
    # A grouped event is one line of tab-separated text, whose payload has
    # no tab (JSON escapes those in strings). An event with an
    # escape jsonb rejects (NUL, lone surrogate) stays alone, so COPY fails.
    return (
        len(payload) + 2 * len(key) <= GROUP_MAX_EVENT_CHARS
        and "\n" not in payload
        and "\t" not in payload
        and "\\u0000" not in payload
        and "\\ud" not in payload
        and "\\uD" not in payload
        and "\t" not in key
        and "\n" not in key
        and "\t" not in event_type
        and "\n" not in event_type
    )


async def enqueue(
    connection: asyncpg.Connection,
    *,
    topic: str,
    key: str,
    event: BaseModel,
    source: str,
) -> uuid.UUID:
    """Write ``event`` to the outbox of the connection's schema, in the caller's
    transaction. Returns the event id, which subscribers use to deduplicate."""
    row = _outbox_row(
        topic,
        key,
        event.type,
        event.model_dump_json(),
        source,
        correlation_id_var.get(),
    )
    await connection.execute(
        "INSERT INTO outbox (event_id, topic, key, type, payload, headers)"
        " VALUES ($1, $2, $3, $4, $5::jsonb, $6::jsonb)",
        *row[:6],
    )
    return row[0]


async def enqueue_many(
    connection: asyncpg.Connection,
    events: Iterable[tuple[str, str, BaseModel]],
    *,
    source: str,
) -> int:
    """Write ``(topic, key, event)`` events to the outbox with one COPY, in
    the caller's transaction and in the order given. Returns how many were
    written. Consecutive events of one topic share rows (see "Grouping"
    above). COPY assigns the ``id`` sequence in row order, so the relay
    publishes them in that order. The events share one ``ce_time``, that of
    the call."""
    return await enqueue_payloads(
        connection,
        (
            (topic, key, event.type, event.model_dump_json())
            for topic, key, event in events
        ),
        source=source,
    )


async def enqueue_payloads(
    connection: asyncpg.Connection,
    events: Iterable[tuple[str, str, str, str]],
    *,
    source: str,
) -> int:
    """Like ``enqueue_many``, for events given as ``(topic, key, type, JSON
    payload)``. Each payload must be the ``model_dump_json`` of an event of
    that type. Grouped, it is published as given; alone in its row, as its
    ``jsonb`` column gives it back. The events share one ``ce_time``, that
    of the call."""
    correlation_id = correlation_id_var.get()
    now = datetime.now(UTC)
    rows: list[tuple] = []
    group: list[tuple[str, str, str]] = []
    group_topic = ""

    def close_group() -> None:
        if len(group) == 1:
            key, event_type, payload = group[0]
            rows.append(
                _outbox_row(
                    group_topic, key, event_type, payload, source, correlation_id, now
                )
            )
        elif group:
            rows.append(_grouped_row(group_topic, group, source, correlation_id, now))
        group.clear()

    count = 0
    for topic, key, event_type, payload in events:
        count += 1
        if not _groupable(key, event_type, payload):
            close_group()
            rows.append(
                _outbox_row(
                    topic, key, event_type, payload, source, correlation_id, now
                )
            )
            continue
        if group and (topic != group_topic or len(group) == GROUP_MAX_EVENTS):
            close_group()
        group_topic = topic
        group.append((key, event_type, payload))
    close_group()
    if rows:
        await connection.copy_records_to_table(
            "outbox", records=rows, columns=_OUTBOX_COLUMNS
        )
    return count


class OutboxRelay:
    """Publishes the outbox rows of one schema to Kafka, oldest first."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        bootstrap_servers: str,
        *,
        schema: str,
        batch_size: int = 500,
        poll_interval: float = 0.2,
        max_batch_bytes: int = 16_384,
        batch_types: Mapping[str, str] = BATCH_TYPES,
    ) -> None:
        """Set up a relay that reads ``batch_size`` events per transaction,
        or one row when its group has more. The producer groups messages of
        one partition in Kafka batches of up to ``max_batch_bytes`` (the
        aiokafka default unless given). On a topic of ``batch_types``, the
        events of a row that share a partition go in one message, whose
        ``ce_type`` is the topic's there (see ``shared.contracts.topics``)."""
        self._pool = pool
        self._bootstrap_servers = bootstrap_servers
        self._schema = schema
        self._batch_size = batch_size
        self._poll_interval = poll_interval
        self._max_batch_bytes = max_batch_bytes
        self._batch_types = batch_types
        self._producer: AIOKafkaProducer | None = None
        self._task: asyncio.Task | None = None
        self._stopping = asyncio.Event()
        # The background loop and ``drain`` take turns: otherwise the one that
        # loses the schema's advisory lock reads no row and stops early.
        self._publishing = asyncio.Lock()
        # Partitions of each topic, read once: topics do not shrink, and a
        # topic that grows keeps the partition count of the relay's start, so
        # that a key's events stay on one partition until the relay restarts.
        self._topic_partitions: dict[str, list[int]] = {}

    async def start(self) -> None:
        """Connect the producer and start relaying in the background."""
        self._producer = AIOKafkaProducer(
            bootstrap_servers=self._bootstrap_servers,
            acks="all",
            enable_idempotence=True,
            linger_ms=5,
            max_batch_size=self._max_batch_bytes,
            max_request_size=MAX_REQUEST_BYTES,
            compression_type=COMPRESSION,
        )
        await self._producer.start()
        self._task = asyncio.create_task(self._run(), name=f"outbox-{self._schema}")

    async def stop(self) -> None:
        """Publish what is pending, then stop the loop and the producer."""
        self._stopping.set()
        if self._task is not None:
            await self._task
        if self._producer is not None:
            await self._producer.stop()

    async def drain(self) -> int:
        """Publish every pending row now; returns how many were published.
        Needs a started producer: ``start()`` first, or use as a context."""
        total = 0
        while True:
            async with self._publishing:
                read, published, _ = await self._publish_batch()
            total += published
            if not read:
                break
        return total

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                async with self._publishing:
                    _, _, more = await self._publish_batch()
            except (OSError, asyncpg.PostgresError) as exc:
                logger.warning(
                    "outbox_relay_failed",
                    schema=self._schema,
                    error=repr(exc),
                    remedy="retrying; check the database and broker",
                )
                more = False
                await asyncio.sleep(1)
            if not more:
                try:
                    await asyncio.wait_for(self._stopping.wait(), self._poll_interval)
                except TimeoutError:
                    pass
        await self.drain()

    async def _send(
        self, connection: asyncpg.Connection, rows: list[asyncpg.Record]
    ) -> tuple[list[int], int]:
        """Send the messages of ``rows`` in their order and wait until Kafka
        acknowledged them. Return the ids of the rows sent and how many
        events they contained. A row with a message too large for Kafka, or
        whose lines do not match its ``message_count``, is set aside whole.

        Messages are appended to one Kafka batch per partition. On the
        development machine, 280,000 messages took 8.6 s to publish this way
        and 12.1 s one by one. The partition is the one the producer's
        partitioner gives the key, so a key's events share a partition, and
        the producer sends a partition's batches in order.
        """
        assert self._producer is not None, "start() the relay before publishing"
        producer = self._producer
        open_batches: dict[tuple[str, int], BatchBuilder] = {}
        deliveries = []
        sent_ids = []
        sent_events = 0
        for row in rows:
            topic = row["topic"]
            partitions = await self._partitions(topic)
            try:
                batch_type = self._batch_types.get(topic)
                if batch_type is not None:
                    messages = _batched(row, partitions, batch_type)
                else:
                    messages = _messages(row)
            except ValueError as exc:
                await self._set_aside(connection, row["id"], exc)
                continue
            too_large = _first_too_large(messages)
            if too_large is not None:
                await self._set_aside(connection, row["id"], too_large)
                continue
            for key, value, headers in messages:
                partition = key_partition(key, partitions)
                batch = open_batches.get((topic, partition))
                if batch is not None:
                    appended = batch.append(
                        key=key, value=value, timestamp=None, headers=headers
                    )
                    if appended is not None:
                        continue
                    # The batch is full: it goes, and the message starts the
                    # next one.
                    deliveries.append(await self._send_batch(batch, topic, partition))
                batch = open_batches[topic, partition] = producer.create_batch()
                # An empty batch accepts its first message whatever its size.
                batch.append(key=key, value=value, timestamp=None, headers=headers)
            sent_ids.append(row["id"])
            sent_events += row["message_count"]
        for (topic, partition), batch in open_batches.items():
            deliveries.append(await self._send_batch(batch, topic, partition))
        await asyncio.gather(*deliveries)
        return sent_ids, sent_events

    async def _send_batch(
        self, batch: BatchBuilder, topic: str, partition: int
    ) -> asyncio.Future:
        assert self._producer is not None
        batch.close()
        return await self._producer.send_batch(batch, topic, partition=partition)

    async def _partitions(self, topic: str) -> list[int]:
        partitions = self._topic_partitions.get(topic)
        if partitions is None:
            assert self._producer is not None
            partitions = sorted(await self._producer.partitions_for(topic))
            self._topic_partitions[topic] = partitions
        return partitions

    async def _set_aside(
        self, connection: asyncpg.Connection, row_id: int, error: Exception
    ) -> None:
        # Retrying an event the broker can never accept would block every
        # event behind it. It is set aside instead, although later events of
        # its key then overtake it: an operator has to fix and replay it.
        await connection.execute(
            "UPDATE outbox SET failed_at = now(), failure = $2 WHERE id = $1",
            row_id,
            repr(error),
        )
        logger.error(
            "outbox_event_set_aside",
            schema=self._schema,
            outbox_id=row_id,
            error=repr(error),
            remedy="fix the event, then clear failed_at to publish it",
        )

    async def _publish_batch(self) -> tuple[int, int, bool]:
        """Publish the oldest pending rows, up to ``batch_size`` messages but
        at least one row. Return how many messages were read, how many of
        them were published (the others were set aside), and whether more
        rows were pending."""
        assert self._producer is not None, "start() the relay before publishing"
        async with self._pool.acquire() as connection, connection.transaction():
            locked = await connection.fetchval(
                "SELECT pg_try_advisory_xact_lock(hashtext($1))",
                f"{self._schema}.outbox",
            )
            if not locked:
                return 0, 0, False
            # Statistics taken while the outbox was nearly empty make the
            # planner fetch and sort every pending row for each batch, which
            # grows with the square of a large backlog. Reading the partial
            # index in order stops after the batch.
            await connection.execute("SET LOCAL enable_bitmapscan = off")
            pending = await connection.fetch(
                "SELECT id, message_count FROM outbox"
                " WHERE published_at IS NULL AND failed_at IS NULL"
                " ORDER BY id LIMIT $1",
                self._batch_size,
            )
            chosen, read = [], 0
            for row in pending:
                if chosen and read + row["message_count"] > self._batch_size:
                    break
                chosen.append(row["id"])
                read += row["message_count"]
            if not chosen:
                return 0, 0, False
            rows = await connection.fetch(
                "SELECT id, topic, key, payload::text AS payload,"
                " headers::text AS headers, messages, message_count FROM outbox"
                " WHERE id = ANY($1::bigint[]) ORDER BY id",
                chosen,
            )
            sent_ids, published = await self._send(connection, rows)
            await connection.execute(
                "UPDATE outbox SET published_at = now() WHERE id = ANY($1::bigint[])",
                sent_ids,
            )
        logger.debug("outbox_batch_published", schema=self._schema, count=published)
        more = len(chosen) < len(pending) or len(pending) == self._batch_size
        return read, published, more


def _messages(row: asyncpg.Record) -> list[tuple[bytes, bytes, list]]:
    """Return the ``(key, value, headers)`` of each Kafka message of an outbox
    row: its one event, or each line of its grouped events, whose headers
    are the row's with the event's id, type and key. Raises ``ValueError``
    when the lines do not match ``message_count``, after an edit by hand for
    example."""
    if row["messages"] is None:
        headers = json.loads(row["headers"])
        return [
            (
                row["key"].encode(),
                row["payload"].encode(),
                [(name, value.encode()) for name, value in headers.items()],
            )
        ]
    event_headers = _EventHeaders(row)
    messages = []
    for position, fields in enumerate(_lines(row)):
        key, event_type, payload = fields[0], fields[1], fields[-1]
        event_id = event_headers.id_of(position, fields)
        headers = event_headers.of(key, event_type, event_id)
        messages.append((key.encode(), payload.encode(), headers))
    return messages


def _lines(row: asyncpg.Record) -> list[list[str]]:
    """Return the fields of each line of a grouped row, or raise
    ``ValueError``: ``[key, type, payload]``, or ``[key, type, event id,
    payload]`` in a row written by a release that stored each event's id."""
    # Only "\n" ends a line: a payload may contain other line separators.
    lines = row["messages"].split("\n")
    if lines[-1] == "":
        lines.pop()
    if len(lines) != row["message_count"]:
        raise ValueError(
            f"invalid grouped row: {len(lines)} lines for a message_count of "
            f"{row['message_count']}"
        )
    fields = [line.split("\t", 3) for line in lines]
    for number, parts in enumerate(fields, start=1):
        if len(parts) < 3:
            raise ValueError(
                f"invalid line {number} of a grouped row: expected key, type "
                "and payload separated by tabs"
            )
    return fields


class _EventHeaders:
    """The headers of the events of a grouped row: the row's, encoded once
    in their order, with the three that differ between events replaced."""

    def __init__(self, row: asyncpg.Record) -> None:
        headers = json.loads(row["headers"])
        for name in ("ce_id", "ce_type", "ce_subject"):
            headers.setdefault(name, "")
        try:
            self._first_id: str | None = str(uuid.UUID(headers["ce_id"]))
        except ValueError:
            self._first_id = None
        self._encoded = [(name, value.encode()) for name, value in headers.items()]
        names = list(headers)
        self._at_id = names.index("ce_id")
        self._at_type = names.index("ce_type")
        self._at_subject = names.index("ce_subject")

    def id_of(self, position: int, fields: list[str]) -> str:
        """Return the id of the event of ``fields``, the line at ``position``
        (from 0) of the row. Raises ``ValueError`` when the line has no id
        and the row's ``ce_id`` is not a UUID."""
        if len(fields) == 4:
            return fields[2]
        if self._first_id is None:
            raise ValueError(
                "invalid grouped row: its ce_id header is not a UUID, from which"
                " its events' ids derive"
            )
        return grouped_event_id(self._first_id, position)

    def of(self, key: str, event_type: str, event_id: str) -> list:
        """Return the headers of one event."""
        headers = self._encoded.copy()
        headers[self._at_id] = ("ce_id", event_id.encode())
        headers[self._at_type] = ("ce_type", event_type.encode())
        headers[self._at_subject] = ("ce_subject", key.encode())
        return headers


def _batched(
    row: asyncpg.Record, partitions: list[int], batch_type: str
) -> list[tuple[bytes, bytes, list]]:
    """Return the messages of an outbox row of a batched topic.

    Each partition gets one message, in the order of its first event. Its
    value is the JSON array of its events' payloads, in their order. A
    partition whose events are longer than ``BATCH_MAX_BYTES`` gets several
    messages. A batch has its first event's key and headers, with
    ``ce_type`` set to ``batch_type``. So its id is its first event's, the
    same each time the row is relayed. Only the first event of a batch needs
    headers, so only those are built.

    NOTE: the batches depend on the topic's number of partitions. A row
    relayed again after that number changed gives other batches with other
    ids, and consumers apply those events a second time."""
    if row["messages"] is None:
        ((key, payload, headers),) = _messages(row)
        return [_batch_message(key, [payload], headers, batch_type)]
    event_headers = _EventHeaders(row)
    batches: list[tuple[bytes, list, list[bytes]]] = []
    open_batches: dict[int, tuple[bytes, list, list[bytes]]] = {}
    sizes: dict[int, int] = {}
    for position, fields in enumerate(_lines(row)):
        key = fields[0]
        key_bytes = key.encode()
        value = fields[-1].encode()
        partition = key_partition(key_bytes, partitions)
        batch = open_batches.get(partition)
        # One byte for the comma or bracket that follows each payload.
        size = len(value) + 1
        if batch is None or sizes[partition] + size > BATCH_MAX_BYTES:
            headers = event_headers.of(
                key, fields[1], event_headers.id_of(position, fields)
            )
            batch = open_batches[partition] = (key_bytes, headers, [])
            sizes[partition] = 1
            batches.append(batch)
        batch[2].append(value)
        sizes[partition] += size
    return [
        _batch_message(key, values, headers, batch_type)
        for key, headers, values in batches
    ]


def _batch_message(
    key: bytes, values: list[bytes], headers: list, batch_type: str
) -> tuple[bytes, bytes, list]:
    headers = [
        (name, batch_type.encode() if name == "ce_type" else value)
        for name, value in headers
    ]
    return key, b"[" + b",".join(values) + b"]", headers


def _first_too_large(
    messages: list[tuple[bytes, bytes, list]],
) -> MessageSizeTooLargeError | None:
    for number, (key, value, headers) in enumerate(messages, start=1):
        size = DefaultRecordBatchBuilder.estimate_size_in_bytes(key, value, headers)
        if size > MAX_REQUEST_BYTES:
            where = "the message" if len(messages) == 1 else f"message {number}"
            return MessageSizeTooLargeError(
                f"{where} of the row is {size} bytes, more than the "
                f"{MAX_REQUEST_BYTES} bytes of a Kafka request"
            )
    return None
