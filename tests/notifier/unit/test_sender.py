import asyncio
import uuid
from datetime import timedelta

import pytest
import structlog.testing

from services.notifier.directory import load_directory
from services.notifier.errors import PermanentDeliveryError, TemporaryDeliveryError
from services.notifier.handlers import compose_refusal_mail
from services.notifier.sender import MailSender, retry_delay

from ..factories import make_refusal
from .fakes import QUEUED_AT, FakeMailQueue, FakeTransport

SENDER = "EduConnect <ne-pas-repondre@educonnect.example>"


@pytest.fixture
def transport():
    return FakeTransport()


@pytest.fixture
async def queue():
    queue = FakeMailQueue()
    mail = compose_refusal_mail(
        make_refusal(academie="nantes", source="onde", ine="9900000002L"),
        uuid.uuid4(),
        directory=load_directory(),
        correction_days=30,
    )
    await queue.add_once(consumer="test", event_id=mail.event_id, mail=mail)
    return queue


def make_sender(queue, transport, **options):
    options.setdefault("clock", lambda: QUEUED_AT)
    return MailSender(
        queue,
        transport,
        sender=SENDER,
        poll_interval_seconds=0.01,
        retry_initial_delay_seconds=10,
        retry_max_delay_seconds=3600,
        **options,
    )


async def test_sends_due_mail(queue, transport):
    attempted = await make_sender(queue, transport).send_due()

    assert attempted == 1
    assert len(transport.sent) == 1
    assert queue.rows[0].status == "sent"
    assert queue.rows[0].attempts == 1


async def test_message_headers(queue, transport):
    await make_sender(queue, transport).send_due()

    message = transport.sent[0]
    assert message["From"] == SENDER
    assert message["To"] == "diffusion-onde@ac-nantes.example"
    assert message["Cc"] == "diffusion-educonnect@ac-nantes.example"
    assert message["Message-ID"] == queue.rows[0].mail.message_id
    assert message["Subject"] == queue.rows[0].mail.subject
    assert message["Date"] == "Wed, 15 Jan 2020 10:00:00 +0000"


async def test_message_has_text_and_html(queue, transport):
    await make_sender(queue, transport).send_due()

    message = transport.sent[0]
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert message.get_content_type() == "multipart/alternative"
    assert "INE : 9900000002L" in text.get_content()
    assert "<td>9900000002L</td>" in html.get_content()


async def test_temporary_failure_keeps_mail_queued(queue, transport):
    transport.outcomes.append(TemporaryDeliveryError("421 try later"))

    await make_sender(queue, transport).send_due()

    row = queue.rows[0]
    assert row.status == "queued"
    assert row.attempts == 1
    assert row.last_error == "421 try later"
    assert row.retry_delay_seconds == 10


async def test_retries_back_off(queue, transport):
    transport.outcomes.extend(TemporaryDeliveryError("refused") for _ in range(3))
    sender = make_sender(queue, transport)
    delays = []

    for _ in range(3):
        queue.make_all_due()
        await sender.send_due()
        delays.append(queue.rows[0].retry_delay_seconds)

    assert delays == [10, 20, 40]


async def test_sends_after_temporary_failure(queue, transport):
    transport.outcomes.append(TemporaryDeliveryError("connection refused"))
    sender = make_sender(queue, transport)

    await sender.send_due()
    queue.make_all_due()
    await sender.send_due()

    assert queue.rows[0].status == "sent"
    assert queue.rows[0].attempts == 2
    assert len(transport.sent) == 1


async def test_permanent_failure_parks_mail(queue, transport):
    transport.outcomes.append(PermanentDeliveryError("recipients rejected: 550"))

    await make_sender(queue, transport).send_due()

    row = queue.rows[0]
    assert row.status == "parked"
    assert row.parked_reason == "recipients rejected: 550"
    assert transport.sent == []


async def test_partial_refusal_records_rejected(queue, transport):
    transport.outcomes.append({"diffusion-onde@ac-nantes.example": "550 no mailbox"})

    await make_sender(queue, transport).send_due()

    row = queue.rows[0]
    assert row.status == "sent"
    assert row.last_error == "diffusion-onde@ac-nantes.example: 550 no mailbox"


async def test_unexpected_failure_defers_mail(queue, transport):
    transport.outcomes.append(RuntimeError("bug in a mail"))

    await make_sender(queue, transport).send_due()

    row = queue.rows[0]
    assert row.status == "queued"
    assert row.attempts == 1
    assert row.last_error == "RuntimeError('bug in a mail')"
    assert row.retry_delay_seconds == 10


async def test_failing_mail_lets_next_through(queue, transport):
    second = compose_refusal_mail(
        make_refusal(academie="nantes", source="siecle"),
        uuid.uuid4(),
        directory=load_directory(),
        correction_days=30,
    )
    await queue.add_once(consumer="test", event_id=second.event_id, mail=second)
    transport.outcomes.append(RuntimeError("bug in a mail"))

    attempted = await make_sender(queue, transport).send_due()

    assert attempted == 2
    assert queue.rows[0].status == "queued"
    assert queue.rows[1].status == "sent"


async def test_parked_mail_is_not_sent(transport):
    queue = FakeMailQueue()
    mail = compose_refusal_mail(
        make_refusal(academie="atlantide"),
        uuid.uuid4(),
        directory=load_directory(),
        correction_days=30,
    )
    await queue.add_once(consumer="test", event_id=mail.event_id, mail=mail)

    attempted = await make_sender(queue, transport).send_due()

    assert attempted == 0
    assert transport.sent == []


@pytest.mark.parametrize(
    ("attempts", "delay"),
    [(1, 10), (2, 20), (3, 40), (9, 2560), (10, 3600), (50, 3600), (10_000, 3600)],
)
def test_retry_delay_doubles_up_to_cap(attempts, delay):
    assert retry_delay(attempts, initial_seconds=10, max_seconds=3600) == delay


async def test_loop_sends_when_woken(queue, transport):
    sender = make_sender(queue, transport)
    sender.start()
    try:
        sender.wake()
        await asyncio.wait_for(transport.started.wait(), timeout=5)
    finally:
        await sender.stop()

    assert queue.rows[0].status == "sent"


async def test_loop_survives_queue_outage(queue, transport):
    queue.claim_failures.append(ConnectionRefusedError("database down"))
    sender = make_sender(queue, transport)
    sender.start()
    try:
        await asyncio.wait_for(transport.started.wait(), timeout=5)
    finally:
        await sender.stop()

    assert queue.rows[0].status == "sent"


async def test_stop_finishes_send_in_flight(queue, transport):
    transport.release = asyncio.Event()
    sender = make_sender(queue, transport)
    sender.start()
    await asyncio.wait_for(transport.started.wait(), timeout=5)

    stopping = asyncio.create_task(sender.stop())
    await asyncio.sleep(0.05)
    still_running = not stopping.done()
    transport.release.set()
    await asyncio.wait_for(stopping, timeout=5)

    assert still_running
    assert queue.rows[0].status == "sent"
    assert len(transport.sent) == 1


async def test_mail_failing_past_max_age_is_parked(queue, transport):
    transport.outcomes.append(TemporaryDeliveryError("421 try later"))
    sender = make_sender(
        queue,
        transport,
        retry_max_age_seconds=5 * 86400,
        clock=lambda: QUEUED_AT + timedelta(days=5),
    )

    await sender.send_due()

    row = queue.rows[0]
    assert row.status == "parked"
    assert row.parked_reason == (
        "not delivered after 1 attempts over 120.0 h; last error: 421 try later"
    )


async def test_mail_failing_before_max_age_stays_queued(queue, transport):
    transport.outcomes.append(TemporaryDeliveryError("421 try later"))
    sender = make_sender(
        queue,
        transport,
        retry_max_age_seconds=5 * 86400,
        clock=lambda: QUEUED_AT + timedelta(days=4, hours=23),
    )

    await sender.send_due()

    assert queue.rows[0].status == "queued"


async def test_long_delay_logs_warning(queue, transport):
    transport.outcomes.append(TemporaryDeliveryError("421 try later"))
    sender = make_sender(
        queue,
        transport,
        delay_alert_after_seconds=4 * 3600,
        clock=lambda: QUEUED_AT + timedelta(hours=4),
    )

    with structlog.testing.capture_logs() as logs:
        await sender.send_due()

    delayed = [line for line in logs if line["event"] == "mail_delivery_delayed"]
    assert len(delayed) == 1
    assert delayed[0]["log_level"] == "warning"
    assert delayed[0]["mail_id"] == 1
    assert delayed[0]["waiting_hours"] == 4.0


async def test_short_delay_logs_no_warning(queue, transport):
    transport.outcomes.append(TemporaryDeliveryError("421 try later"))
    sender = make_sender(
        queue,
        transport,
        delay_alert_after_seconds=4 * 3600,
        clock=lambda: QUEUED_AT + timedelta(hours=3),
    )

    with structlog.testing.capture_logs() as logs:
        await sender.send_due()

    assert [line["log_level"] for line in logs] == ["info"]


async def test_parked_mail_logs_error_with_mail_id(queue, transport):
    transport.outcomes.append(PermanentDeliveryError("550 no such user"))

    with structlog.testing.capture_logs() as logs:
        await make_sender(queue, transport).send_due()

    parked = [line for line in logs if line["event"] == "mail_parked"]
    assert len(parked) == 1
    assert parked[0]["log_level"] == "error"
    assert parked[0]["mail_id"] == 1
    assert parked[0]["reason"] == "550 no such user"
