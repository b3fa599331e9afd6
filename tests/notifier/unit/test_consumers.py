import json
import uuid

import pytest
from faststream.kafka import KafkaBroker, TestKafkaBroker

from services.notifier.consumers import build_router
from services.notifier.directory import load_directory
from shared.contracts import Topic
from shared.contracts.topics import LINK_BATCH_TYPE
from shared.kafka import batch_event_id, cloudevent_headers

from ..factories import make_confirmation, make_refusal
from .fakes import FakeCaseBook, FakeDeadLetterStore, FakeMailQueue


class Wakeups:
    def __init__(self):
        self.count = 0

    def __call__(self):
        self.count += 1


@pytest.fixture
def queue():
    return FakeMailQueue()


@pytest.fixture
def dead_letters():
    return FakeDeadLetterStore()


@pytest.fixture
def wakeups():
    return Wakeups()


@pytest.fixture
async def broker(queue, dead_letters, wakeups):
    broker = KafkaBroker("127.0.0.1:9092", logger=None)
    broker.include_router(
        build_router(
            queue=queue,
            cases=FakeCaseBook(queue),
            dead_letters=dead_letters,
            directory=load_directory(),
            correction_days=30,
            retry_delay_seconds=0.01,
            on_mail_queued=wakeups,
        )
    )
    async with TestKafkaBroker(broker) as test_broker:
        yield test_broker


def headers_of(event, event_id=None):
    return cloudevent_headers(
        event,
        source="links",
        subject=event.eleve_id,
        correlation_id="test-correlation",
        event_id=event_id or uuid.uuid4(),
    )


async def publish(broker, event, headers, *more_events):
    """Publish a batch of ``event`` and ``more_events`` on the links topic."""
    await broker.publish(
        f"[{','.join(e.model_dump_json() for e in (event, *more_events))}]".encode(),
        Topic.LINKS,
        key=event.eleve_id.encode(),
        headers={**headers, "ce_type": LINK_BATCH_TYPE},
    )


async def test_refusal_queues_one_mail(broker, queue):
    event = make_refusal()

    await publish(broker, event, headers_of(event))

    assert len(queue.rows) == 1
    assert queue.rows[0].mail.subject.startswith("[EduConnect] Refus de rattachement")


async def test_same_ce_id_thrice_queues_one_mail(broker, queue, wakeups):
    event = make_refusal()
    headers = headers_of(event)

    for _ in range(3):
        await publish(broker, event, headers)

    assert len(queue.rows) == 1
    assert wakeups.count == 1


async def test_mail_id_derives_from_ce_id(broker, queue):
    event = make_refusal()
    event_id = uuid.uuid4()

    await publish(broker, event, headers_of(event, event_id))

    assert queue.rows[0].mail.message_id == f"<{event_id}.refusal@educonnect.example>"


async def test_confirmation_is_recorded_without_mail(broker, queue, wakeups):
    event = make_confirmation()
    event_id = uuid.uuid4()

    await publish(broker, event, headers_of(event, event_id))

    assert ("notifier.refusals", event_id) in queue.processed
    assert queue.rows == []
    assert wakeups.count == 0


async def test_unknown_academie_is_parked_not_sent(broker, queue, wakeups):
    event = make_refusal(academie="atlantide")

    await publish(broker, event, headers_of(event))

    assert queue.rows[0].status == "parked"
    assert wakeups.count == 0


async def test_message_without_ce_id_is_dead_lettered(broker, queue, dead_letters):
    event = make_refusal()
    headers = headers_of(event)
    del headers["ce_id"]

    await publish(broker, event, headers)

    assert queue.rows == []
    assert len(dead_letters.letters) == 1
    assert "ce_id" in dead_letters.letters[0].reason


async def test_invalid_payload_is_dead_lettered(broker, queue, dead_letters):
    event = make_refusal()
    payload = json.loads(event.model_dump_json())
    payload["eleve"]["uai"] = "not-a-uai"

    await broker.publish(
        json.dumps([payload]).encode(), Topic.LINKS, headers=headers_of(event)
    )

    assert queue.rows == []
    assert len(dead_letters.letters) == 1
    assert "eleve.uai" in dead_letters.letters[0].reason


async def test_non_json_payload_is_dead_lettered(broker, queue, dead_letters):
    event = make_refusal()

    await broker.publish(b"\x00not json", Topic.LINKS, headers=headers_of(event))

    assert queue.rows == []
    assert len(dead_letters.letters) == 1
    assert dead_letters.letters[0].payload == b"\x00not json"
    assert dead_letters.letters[0].reason.startswith("payload is not JSON")


async def test_dead_letter_keeps_message_whole(broker, dead_letters):
    event = make_refusal()
    headers = headers_of(event)
    payload = b'{"type": "link.unknown"}'

    await broker.publish(payload, Topic.LINKS, key=b"k1", headers=headers)

    letter = dead_letters.letters[0]
    assert letter.topic == Topic.LINKS
    assert letter.payload == payload
    assert letter.key == b"k1"
    assert letter.headers["ce_id"] == headers["ce_id"]


async def test_database_outage_is_not_dead_lettered(broker, queue, dead_letters):
    event = make_refusal()
    queue.failures.append(ConnectionRefusedError("database down"))

    await publish(broker, event, headers_of(event))

    assert dead_letters.letters == []
    assert queue.rows == []


async def test_redelivery_after_outage_queues_mail(broker, queue):
    event = make_refusal()
    headers = headers_of(event)
    queue.failures.append(ConnectionRefusedError("database down"))

    await publish(broker, event, headers)
    await publish(broker, event, headers)

    assert len(queue.rows) == 1


async def test_batch_events_identified_by_position(broker, queue, wakeups):
    confirmation, refusal = make_confirmation(), make_refusal()
    batch_id = uuid.uuid4()
    headers = headers_of(confirmation, batch_id)

    for _ in range(2):
        await publish(broker, confirmation, headers, refusal)

    refusal_id = batch_event_id(batch_id, 1)
    assert ("notifier.refusals", batch_id) in queue.processed
    assert [row.mail.message_id for row in queue.rows] == [
        f"<{refusal_id}.refusal@educonnect.example>"
    ]
    assert wakeups.count == 1


async def test_empty_batch_is_dead_lettered(broker, queue, dead_letters):
    event = make_refusal()

    await broker.publish(b"[]", Topic.LINKS, headers=headers_of(event))

    assert queue.rows == []
    assert len(dead_letters.letters) == 1
    assert "at least 1 item" in dead_letters.letters[0].reason


@pytest.mark.parametrize(
    "topic", [Topic.LINKS_V1, Topic.LINKS], ids=["first links topic", "batched"]
)
async def test_lone_event_queues_mail_once(broker, queue, topic):
    # An earlier release of links published one event per message on the
    # first links topic, and so does its relay on the batched topic while
    # the two releases run side by side.
    event = make_refusal()
    event_id = uuid.uuid4()

    for _ in range(2):
        await broker.publish(
            event.model_dump_json().encode(),
            topic,
            key=event.eleve_id.encode(),
            headers=headers_of(event, event_id),
        )

    assert [row.mail.message_id for row in queue.rows] == [
        f"<{event_id}.refusal@educonnect.example>"
    ]
