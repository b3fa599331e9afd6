import uuid

import pytest

from services.notifier.directory import load_directory
from services.notifier.handlers import (
    REFUSALS_CONSUMER,
    Outcome,
    compose_refusal_mail,
    handle_link_event,
)

from ..factories import make_confirmation, make_refusal
from .fakes import FakeCaseBook, FakeMailQueue


@pytest.fixture
def queue():
    return FakeMailQueue()


async def handle(event, queue, event_id=None):
    return await handle_link_event(
        event,
        event_id or uuid.uuid4(),
        queue=queue,
        cases=FakeCaseBook(queue),
        directory=load_directory(),
        correction_days=30,
    )


def compose(event, event_id=None):
    return compose_refusal_mail(
        event,
        event_id or uuid.uuid4(),
        directory=load_directory(),
        correction_days=30,
    )


def test_onde_refusal_goes_to_onde_team():
    mail = compose(make_refusal(academie="lyon", source="onde"))

    assert mail.to == ("diffusion-onde@ac-lyon.example",)
    assert mail.cc == ("diffusion-educonnect@ac-lyon.example",)


def test_siecle_refusal_goes_to_siecle_team():
    mail = compose(make_refusal(academie="lyon", source="siecle"))

    assert mail.to == ("diffusion-siecle@ac-lyon.example",)
    assert mail.cc == ("diffusion-educonnect@ac-lyon.example",)


def test_message_id_derives_from_event_id():
    event_id = uuid.UUID("0b038816-a620-4b69-a923-f6e935523c1a")

    mail = compose(make_refusal(), event_id)

    assert mail.message_id == (
        "<0b038816-a620-4b69-a923-f6e935523c1a.refusal@educonnect.example>"
    )


def test_mail_names_academie_display_name():
    mail = compose(make_refusal(academie="orleans-tours"))

    assert "Académie : Orléans-Tours" in mail.text


def test_unknown_academie_is_parked():
    mail = compose(make_refusal(academie="atlantide"))

    assert mail.parked_reason == "unknown académie 'atlantide'"
    assert mail.to == ()
    assert mail.cc == ()
    assert "Académie : atlantide" in mail.text


async def test_refusal_is_queued(queue):
    event_id = uuid.uuid4()

    outcome = await handle(make_refusal(), queue, event_id)

    assert outcome is Outcome.QUEUED
    assert len(queue.rows) == 1
    assert queue.rows[0].mail.event_id == event_id
    assert queue.rows[0].status == "queued"


async def test_refusal_records_event_as_processed(queue):
    event_id = uuid.uuid4()

    await handle(make_refusal(), queue, event_id)

    assert (REFUSALS_CONSUMER, event_id) in queue.processed


async def test_redelivered_refusal_queues_nothing(queue):
    event = make_refusal()
    event_id = uuid.uuid4()

    first = await handle(event, queue, event_id)
    second = await handle(event, queue, event_id)

    assert first is Outcome.QUEUED
    assert second is Outcome.DUPLICATE
    assert len(queue.rows) == 1


async def test_unknown_academie_is_stored_parked(queue):
    outcome = await handle(make_refusal(academie="atlantide"), queue)

    assert outcome is Outcome.PARKED
    assert len(queue.rows) == 1
    assert queue.rows[0].status == "parked"
    assert queue.rows[0].parked_reason == "unknown académie 'atlantide'"


async def test_other_event_is_recorded_without_mail(queue):
    event_id = uuid.uuid4()

    outcome = await handle(make_confirmation(), queue, event_id)

    assert outcome is Outcome.IGNORED
    assert (REFUSALS_CONSUMER, event_id) in queue.processed
    assert queue.rows == []


async def test_redelivered_other_event_is_duplicate(queue):
    event = make_confirmation()
    event_id = uuid.uuid4()

    await handle(event, queue, event_id)
    outcome = await handle(event, queue, event_id)

    assert outcome is Outcome.DUPLICATE
