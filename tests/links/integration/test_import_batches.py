"""Batches of the importer's messages applied by the links consumers: each
message once, its events in order, with the same result as one event at a
time."""

import uuid
from unittest.mock import Mock

import pytest
import structlog
from aiokafka import ConsumerRecord
from faststream.kafka import KafkaBroker, TestKafkaBroker
from pydantic import BaseModel

from services.links import handlers
from services.links.consumers import apply_import_records, register_consumers
from shared.contracts import Topic
from shared.contracts.events import EleveRemoved
from shared.contracts.topics import BATCH_TYPE
from shared.kafka import typed_cloudevent_headers

from ..factories import apply, eleve, outbox_types, responsable, states

pytestmark = pytest.mark.integration


def record(
    events: BaseModel | list[BaseModel],
    offset: int,
    *,
    event_id: uuid.UUID | None = None,
):
    """Return the Kafka record the importer's relay would publish for a batch
    of ``events``, or for one event alone."""
    batch = events if isinstance(events, list) else [events]
    key = getattr(batch[0], "eleve_id", None) or batch[0].responsable_id
    headers = typed_cloudevent_headers(
        BATCH_TYPE,
        source="tests",
        subject=key,
        correlation_id="batch-test",
        event_id=event_id or uuid.uuid4(),
    )
    value = ("[" + ",".join(event.model_dump_json() for event in batch) + "]").encode()
    return ConsumerRecord(
        topic=Topic.ELEVES,
        partition=0,
        offset=offset,
        timestamp=0,
        timestamp_type=0,
        key=key.encode(),
        value=value,
        checksum=None,
        serialized_key_size=len(key),
        serialized_value_size=len(value),
        headers=[(name, text.encode()) for name, text in headers.items()],
    )


async def tables(pool) -> tuple:
    """Return what an import leaves in the links schema, without times."""
    eleves = await pool.fetch(
        "SELECT eleve_id, source, uai, classe, enrolled FROM eleves ORDER BY 1"
    )
    links = await pool.fetch(
        "SELECT link_id, eleve_id, responsable_id, source, state::text FROM links"
        " ORDER BY 1"
    )
    responsables = await pool.fetch(
        "SELECT responsable_id, nom, removed_at IS NULL AS kept FROM responsables"
        " ORDER BY 1"
    )
    events = await pool.fetch(
        "SELECT type, key, payload->>'link_id' AS link_id FROM outbox_events"
        " ORDER BY id, position"
    )
    return (
        [tuple(row) for row in eleves],
        [tuple(row) for row in links],
        [tuple(row) for row in responsables],
        [tuple(row) for row in events],
    )


async def test_pupil_twice_in_batch_keeps_order(pool):
    records = [
        record(eleve("siecle:1", "siecle:2"), 0),
        record(eleve("siecle:1"), 1),
    ]

    await apply_import_records(pool, records, "links.eleves")

    assert await states(pool) == {"siecle:1": "proposed"}
    assert await outbox_types(pool) == [
        "link.proposed",
        "link.proposed",
        "link.removed",
    ]


async def test_repeated_message_is_applied_once(pool):
    event_id = uuid.uuid4()
    first = record(eleve("siecle:1"), 0, event_id=event_id)
    again = record(eleve("siecle:1", "siecle:2"), 1, event_id=event_id)

    await apply_import_records(pool, [first, again], "links.eleves")
    await apply_import_records(pool, [first], "links.eleves")

    assert await states(pool) == {"siecle:1": "proposed"}
    assert await outbox_types(pool) == ["link.proposed"]
    processed = await pool.fetchval("SELECT count(*) FROM processed_messages")
    assert processed == 1


@pytest.mark.parametrize(
    "value",
    [
        b"{not json",
        # One event that is not in an array: the format of the v1 topics.
        eleve("siecle:1").model_dump_json().encode(),
        # An array with one valid event and one that is not an import event.
        b"[" + eleve("siecle:1").model_dump_json().encode() + b', {"type": "x"}]',
        b"[]",
    ],
)
async def test_unreadable_record_is_skipped(pool, value):
    broken = record(eleve("siecle:1"), 0)
    broken = ConsumerRecord(**{**broken.__dict__, "value": value})

    await apply_import_records(
        pool, [broken, record(eleve("siecle:2"), 1)], "links.eleves"
    )

    assert await states(pool) == {"siecle:2": "proposed"}
    assert await pool.fetchval("SELECT count(*) FROM processed_messages") == 1


async def test_events_of_one_message_apply_in_order(pool):
    message = record(
        [
            eleve("siecle:1", "siecle:2"),
            eleve("siecle:1"),
            eleve("siecle:3", eleve_id="9900000003Y", prenom="Noé"),
        ],
        0,
    )

    await apply_import_records(pool, [message], "links.eleves")
    await apply_import_records(pool, [message], "links.eleves")

    assert await states(pool) == {"siecle:1": "proposed", "siecle:3": "proposed"}
    events = await pool.fetch(
        "SELECT key, type FROM outbox_events ORDER BY id, position"
    )
    assert [
        row["type"] for row in events if row["key"] == eleve("siecle:1").eleve_id
    ] == [
        "link.proposed",
        "link.proposed",
        "link.removed",
    ]
    assert [row["type"] for row in events if row["key"] == "9900000003Y"] == [
        "link.proposed"
    ]


async def test_batch_equals_one_by_one(pool):
    siecle_pupil = dict(uai="0999101E")
    onde = dict(source="onde", uai="0999201A")
    events = [
        responsable("siecle:1"),
        eleve("siecle:1", "siecle:2", **siecle_pupil),
        eleve("onde:7", eleve_id="9900000002X", prenom="Lina", **onde),
        responsable("siecle:2", nom="DIALLO"),
        eleve("siecle:2", "siecle:3", **siecle_pupil),
        EleveRemoved(
            academie="versailles", eleve_id="9900000002X", source="onde", uai="0999201A"
        ),
        eleve("siecle:3", eleve_id="9900000003Y", prenom="Noé", **siecle_pupil),
    ]
    apply_one = {
        "responsable.imported": handlers.apply_responsable_imported,
        "eleve.imported": handlers.apply_eleve_imported,
        "eleve.removed": handlers.apply_eleve_removed,
    }
    for event in events:
        await apply(pool, apply_one[event.type], event)
    one_at_a_time = await tables(pool)
    assert len(one_at_a_time[1]) == 3

    # One event per message, three per message, all in one message.
    for size in (1, 3, len(events)):
        await pool.execute(
            "TRUNCATE eleves, links, responsables, removed_links, outbox,"
            " processed_messages"
        )
        messages = [
            record(events[start : start + size], offset)
            for offset, start in enumerate(range(0, len(events), size))
        ]

        await apply_import_records(pool, messages, "links.eleves")

        assert await tables(pool) == one_at_a_time, f"{size} events per message"


@pytest.mark.parametrize("ce_id", [b"\xff\xfe", None])
async def test_record_with_unreadable_id_is_skipped(pool, ce_id):
    broken = record(eleve("siecle:1"), 0)
    headers = [
        (name, ce_id if name == "ce_id" else value) for name, value in broken.headers
    ]
    broken = ConsumerRecord(**{**broken.__dict__, "headers": headers})

    await apply_import_records(
        pool, [broken, record(eleve("siecle:2"), 1)], "links.eleves"
    )

    assert await states(pool) == {"siecle:2": "proposed"}


async def test_failed_batch_is_logged_then_raised(local_stack):
    broker = KafkaBroker(local_stack.kafka_bootstrap_servers, logger=None)
    unreachable = Mock(acquire=Mock(side_effect=OSError("connection refused")))
    register_consumers(broker, lambda: unreachable)
    message = record([eleve("siecle:1"), eleve("siecle:2")], 0)

    with structlog.testing.capture_logs() as logs:
        async with TestKafkaBroker(broker) as test_broker:
            with pytest.raises(OSError):
                await test_broker.publish(
                    message.value,
                    Topic.ELEVES,
                    key=message.key,
                    headers={name: value.decode() for name, value in message.headers},
                )

    failures = [entry for entry in logs if entry["event"] == "import_batch_failed"]
    assert len(failures) == 1
    assert failures[0]["consumer"] == "links.eleves"
    assert "connection refused" in failures[0]["error"]
