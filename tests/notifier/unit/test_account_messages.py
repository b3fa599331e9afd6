"""Account messages from the identity service: their French mails, the
expiry rule and their subscriber on the in-memory broker."""

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from faststream.kafka import KafkaBroker, TestKafkaBroker

from services.notifier.account_messages import (
    ACCOUNT_MESSAGES_CONSUMER,
    ACCOUNT_MESSAGES_TOPIC,
    AccountActivated,
    EmailVerificationRequested,
    OneTimeCodeRequested,
    PasswordResetRequested,
    compose_account_mail,
)
from services.notifier.consumers import build_router
from services.notifier.directory import load_directory
from services.notifier.handlers import Outcome, handle_account_message
from shared.kafka import cloudevent_headers

from .fakes import FakeCaseBook, FakeDeadLetterStore, FakeMailQueue

REQUESTED_AT = datetime(2020, 1, 15, 9, 0, tzinfo=UTC)
EXPIRES_AT = datetime(2020, 1, 15, 9, 15, tzinfo=UTC)
ADDRESS = "parent.durand@example.org"


def one_time_code(**fields):
    values = {
        "account_id": "acc-1",
        "email": ADDRESS,
        "display_name": "M. Durand",
        "occurred_at": REQUESTED_AT,
        "code": "482913",
        "purpose": "account_creation",
        "expires_at": EXPIRES_AT,
    }
    return OneTimeCodeRequested(**{**values, **fields})


def test_one_time_code_mail():
    event_id = uuid.uuid4()

    mail = compose_account_mail(one_time_code(), event_id)

    assert mail.to == (ADDRESS,)
    assert mail.cc == ()
    assert mail.kind == "one_time_code"
    assert mail.message_id == f"<{event_id}.one_time_code@educonnect.example>"
    assert mail.subject == "[EduConnect] Votre code de vérification : 482913"
    assert mail.text.startswith("Bonjour M. Durand,")
    assert "Pour créer votre compte EduConnect, saisissez ce code" in mail.text
    assert "valable jusqu'au 15/01/2020 à 10 h 15 (heure de Paris)" in mail.text
    assert "482913" in mail.html


def test_email_verification_mail():
    message = EmailVerificationRequested(
        account_id="acc-1",
        email=ADDRESS,
        occurred_at=REQUESTED_AT,
        verification_url="https://educonnect.example/verifier?jeton=abc",
        expires_at=EXPIRES_AT,
    )

    mail = compose_account_mail(message, uuid.uuid4())

    assert mail.subject == "[EduConnect] Confirmez votre adresse électronique"
    assert mail.text.startswith("Bonjour,")
    assert "https://educonnect.example/verifier?jeton=abc" in mail.text
    assert 'href="https://educonnect.example/verifier?jeton=abc"' in mail.html


def test_password_reset_mail():
    message = PasswordResetRequested(
        account_id="acc-1",
        email=ADDRESS,
        occurred_at=REQUESTED_AT,
        reset_url="https://educonnect.example/reinitialiser?jeton=xyz",
        expires_at=EXPIRES_AT,
    )

    mail = compose_account_mail(message, uuid.uuid4())

    assert mail.subject == "[EduConnect] Choisir un nouveau mot de passe"
    assert "https://educonnect.example/reinitialiser?jeton=xyz" in mail.text
    assert "ne sert qu'une fois" in mail.text


def test_activation_mail():
    message = AccountActivated(
        account_id="acc-1",
        email=ADDRESS,
        display_name="Mme Martin",
        occurred_at=REQUESTED_AT,
        login="c.martin7",
    )

    mail = compose_account_mail(message, uuid.uuid4())

    assert mail.subject == "[EduConnect] Votre compte est activé"
    assert "activé depuis le 15/01/2020 à 10 h 00" in mail.text
    assert "Votre identifiant est : c.martin7" in mail.text
    assert "<strong>c.martin7</strong>" in mail.html


def test_html_escapes_values():
    mail = compose_account_mail(
        one_time_code(display_name="<b>Durand</b>"), uuid.uuid4()
    )

    assert "&lt;b&gt;Durand&lt;/b&gt;" in mail.html
    assert "<b>Durand</b>" not in mail.html


@pytest.mark.parametrize(
    "field, value",
    [("email", "not an address"), ("code", "12ab"), ("purpose", "unknown")],
)
def test_invalid_message_is_rejected(field, value):
    with pytest.raises(ValueError, match=field):
        one_time_code(**{field: value})


async def test_expired_code_is_recorded_without_mail():
    queue = FakeMailQueue()
    event_id = uuid.uuid4()

    outcome = await handle_account_message(
        one_time_code(), event_id, queue=queue, now=EXPIRES_AT
    )

    assert outcome is Outcome.EXPIRED
    assert (ACCOUNT_MESSAGES_CONSUMER, event_id) in queue.processed
    assert queue.rows == []


async def test_valid_code_is_queued():
    queue = FakeMailQueue()

    outcome = await handle_account_message(
        one_time_code(),
        uuid.uuid4(),
        queue=queue,
        now=EXPIRES_AT - timedelta(seconds=1),
    )

    assert outcome is Outcome.QUEUED
    assert len(queue.rows) == 1


@pytest.fixture
def queue():
    return FakeMailQueue()


@pytest.fixture
def dead_letters():
    return FakeDeadLetterStore()


@pytest.fixture
async def broker(queue, dead_letters):
    broker = KafkaBroker("127.0.0.1:9092", logger=None)
    broker.include_router(
        build_router(
            queue=queue,
            cases=FakeCaseBook(queue),
            dead_letters=dead_letters,
            directory=load_directory(),
            correction_days=30,
            retry_delay_seconds=0.01,
            clock=lambda: REQUESTED_AT,
        )
    )
    async with TestKafkaBroker(broker) as test_broker:
        yield test_broker


def headers_of(message, event_id):
    return cloudevent_headers(
        message,
        source="identity",
        subject=message.account_id,
        correlation_id="test-correlation",
        event_id=event_id,
    )


async def test_subscriber_queues_one_mail_per_event(broker, queue):
    message = one_time_code()
    event_id = uuid.uuid4()

    for _ in range(3):
        await broker.publish(
            message.model_dump_json().encode(),
            ACCOUNT_MESSAGES_TOPIC,
            key=message.account_id.encode(),
            headers=headers_of(message, event_id),
        )

    assert len(queue.rows) == 1
    assert queue.rows[0].mail.message_id == (
        f"<{event_id}.one_time_code@educonnect.example>"
    )


async def test_invalid_account_message_is_dead_lettered(broker, queue, dead_letters):
    message = one_time_code()
    payload = json.loads(message.model_dump_json())
    payload["code"] = "abc"

    await broker.publish(
        json.dumps(payload).encode(),
        ACCOUNT_MESSAGES_TOPIC,
        headers=headers_of(message, uuid.uuid4()),
    )

    assert queue.rows == []
    [letter] = dead_letters.letters
    assert letter.topic == ACCOUNT_MESSAGES_TOPIC
    assert letter.reason.startswith(
        "payload does not match the account message contract: "
    )
    assert "one_time_code_requested.code: String should match" in letter.reason
