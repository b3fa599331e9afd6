"""One-time codes for a mobile phone: the SMS text mailed to the e-mail-to-SMS
gateway, its setting, and the subscriber on the in-memory broker."""

import uuid
from datetime import UTC, datetime

import pytest
from faststream.kafka import KafkaBroker, TestKafkaBroker

from services.notifier.account_messages import (
    ACCOUNT_MESSAGES_TOPIC,
    DEFAULT_SMS_GATEWAY_DOMAIN,
    MobileCodeRequested,
    compose_account_mail,
)
from services.notifier.consumers import build_router
from services.notifier.directory import load_directory
from services.notifier.handlers import Outcome, handle_account_message
from services.notifier.settings import Settings
from shared.kafka import cloudevent_headers

from .fakes import FakeCaseBook, FakeDeadLetterStore, FakeMailQueue

REQUESTED_AT = datetime(2020, 1, 15, 9, 0, tzinfo=UTC)
EXPIRES_AT = datetime(2020, 1, 15, 9, 15, tzinfo=UTC)


def mobile_code(**fields):
    values = {
        "account_id": str(uuid.uuid4()),
        "mobile": "0639980015",
        "occurred_at": REQUESTED_AT,
        "code": "482913",
        "purpose": "account_creation",
        "expires_at": EXPIRES_AT,
    }
    return MobileCodeRequested(**{**values, **fields})


def test_mobile_code_goes_to_gateway_address():
    event_id = uuid.uuid4()

    mail = compose_account_mail(mobile_code(), event_id)

    assert mail.to == ("0639980015@sms.educonnect.example",)
    assert mail.cc == ()
    assert mail.kind == "mobile_code"
    assert mail.message_id == f"<{event_id}.mobile_code@educonnect.example>"


def test_mobile_code_text_fits_one_sms():
    mail = compose_account_mail(mobile_code(), uuid.uuid4())

    assert mail.subject == "EduConnect 482913"
    assert mail.text.startswith(
        "EduConnect : 482913 est votre code pour créer votre compte EduConnect."
    )
    assert "jusqu'à 10 h 15 (heure de Paris) le 15/01/2020" in mail.text
    assert len(mail.text.strip()) <= 160
    assert "482913" in mail.html


def test_gateway_domain_comes_from_caller():
    mail = compose_account_mail(
        mobile_code(), uuid.uuid4(), sms_gateway_domain="sms.operateur.example"
    )

    assert mail.to == ("0639980015@sms.operateur.example",)


@pytest.mark.parametrize(
    "field, value",
    [
        ("mobile", "06 39 98 00 15"),
        ("mobile", "0639980015@example.org"),
        ("code", "12ab"),
        ("purpose", "login"),
    ],
)
def test_invalid_mobile_code_is_rejected(field, value):
    with pytest.raises(ValueError, match=field):
        mobile_code(**{field: value})


def test_gateway_domain_setting_defaults_and_rejects_an_address(monkeypatch):
    monkeypatch.delenv("NOTIFIER_SMS_GATEWAY_DOMAIN", raising=False)
    base = {
        "database_url": "postgresql://notifier@127.0.0.1:5432/educonnect",
        "kafka_bootstrap_servers": "127.0.0.1:9092",
        "smtp_host": "127.0.0.1",
        "smtp_port": 2525,
        "environment": "test",
    }

    assert Settings(**base).sms_gateway_domain == DEFAULT_SMS_GATEWAY_DOMAIN
    with pytest.raises(ValueError, match="sms_gateway_domain"):
        Settings(**base, sms_gateway_domain="sms@example.org")


async def test_expired_mobile_code_is_recorded_without_mail():
    queue = FakeMailQueue()

    outcome = await handle_account_message(
        mobile_code(), uuid.uuid4(), queue=queue, now=EXPIRES_AT
    )

    assert outcome is Outcome.EXPIRED
    assert queue.rows == []


@pytest.fixture
def queue():
    return FakeMailQueue()


@pytest.fixture
async def broker(queue):
    broker = KafkaBroker("127.0.0.1:9092", logger=None)
    broker.include_router(
        build_router(
            queue=queue,
            cases=FakeCaseBook(queue),
            dead_letters=FakeDeadLetterStore(),
            directory=load_directory(),
            correction_days=30,
            retry_delay_seconds=0.01,
            clock=lambda: REQUESTED_AT,
            sms_gateway_domain="sms.passerelle.example",
        )
    )
    async with TestKafkaBroker(broker) as test_broker:
        yield test_broker


async def test_subscriber_mails_code_to_configured_gateway(broker, queue):
    message = mobile_code()
    event_id = uuid.uuid4()

    await broker.publish(
        message.model_dump_json().encode(),
        ACCOUNT_MESSAGES_TOPIC,
        key=message.account_id.encode(),
        headers=cloudevent_headers(
            message,
            source="identity",
            subject=message.account_id,
            correlation_id="test-correlation",
            event_id=event_id,
        ),
    )

    [row] = queue.rows
    assert row.mail.to == ("0639980015@sms.passerelle.example",)
    assert row.mail.kind == "mobile_code"
