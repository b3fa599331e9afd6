"""Cases and account messages end to end: events on the real topics, the notifier
application with its sender, and an SMTP server of the test's own. The clock
is moved forward by running the scheduler at a given time, never by
sleeping."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from services.notifier.account_messages import (
    ACCOUNT_MESSAGES_TOPIC,
    PasswordResetRequested,
)
from services.notifier.app import build_scheduler, create_app
from services.notifier.cases import PostgresCaseBook
from services.notifier.directory import load_directory
from shared.kafka import cloudevent_headers

from ..factories import make_refusal, make_removal, make_withdrawal
from .conftest import publish_link_event, wait_until
from .smtp_server import SmtpServer
from .test_service import notifier_settings

pytestmark = pytest.mark.integration

ONDE_TEAM = "diffusion-onde@ac-nantes.example"
SIECLE_TEAM = "diffusion-siecle@ac-nantes.example"
EDUCONNECT_TEAM = "diffusion-educonnect@ac-nantes.example"
ASSISTANCE_TEAM = "assistance@ac-nantes.example"


@pytest.fixture
def smtp_server():
    server = SmtpServer().start()
    try:
        yield server
    finally:
        server.stop()


def message_id(event_id, kind):
    return f"<{event_id}.{kind}@educonnect.example>"


async def received_once(smtp_server, wanted_id, what):
    async def arrived():
        return len(smtp_server.received_with_id(wanted_id)) >= 1

    await wait_until(arrived, seconds=60, what=what)
    return smtp_server.received_with_id(wanted_id)


def recent_refusal(**fields):
    # Refused now, so the service's own scheduler, which runs on the real
    # clock, finds nothing due; the test moves the clock itself.
    return make_refusal(
        academie="nantes",
        occurred_at=datetime.now(UTC).replace(microsecond=0),
        **fields,
    )


@pytest.mark.slow
async def test_refusal_then_reminder_escalation_correction(
    local_stack, notifier_database_url, pool, producer, smtp_server
):
    settings = notifier_settings(local_stack, notifier_database_url, smtp_server.port)
    app = create_app(settings)
    refusal = recent_refusal(
        source="onde", ine="9900000077Z", source_eleve_id=None, screen="activation"
    )
    refused_on = refusal.occurred_at
    refusal_id, removal_id = uuid.uuid4(), uuid.uuid4()
    schedule = build_scheduler(
        settings, PostgresCaseBook(pool), load_directory(), lambda: None
    )

    async with app.router.lifespan_context(app):
        for _ in range(3):
            await publish_link_event(producer, refusal, refusal_id)
        [refusal_mail] = await received_once(
            smtp_server, message_id(refusal_id, "refusal"), "the refusal mail"
        )

        await schedule.run_once(refused_on + timedelta(days=25, hours=1))
        [reminder] = await received_once(
            smtp_server, message_id(refusal_id, "reminder"), "the reminder"
        )
        await schedule.run_once(refused_on + timedelta(days=31))
        [escalation] = await received_once(
            smtp_server, message_id(refusal_id, "escalation"), "the escalation"
        )

        await publish_link_event(producer, make_removal(refusal), removal_id)
        [notice] = await received_once(
            smtp_server, message_id(removal_id, "closure"), "the closing notice"
        )

    assert set(refusal_mail.rcpt_tos) == {ONDE_TEAM, EDUCONNECT_TEAM}
    assert len(smtp_server.received_with_id(message_id(refusal_id, "refusal"))) == 1
    text = refusal_mail.text_body()
    for field in (
        "Académie : Nantes",
        "UAI 0991234X",
        "Classe : CE2 - Mme Martin",
        "Identifiant ONDE : non communiqué",
        "INE : 9900000077Z",
        "Nom : Lefèvre",
        "Prénom : Zoé",
        "Date de naissance : 03/09/2011",
        "Identifiant : onde:778899",
        "M. Durand Paul",
        "lors de l'activation du compte",
        f"Référence du rattachement : {refusal.link_id}",
    ):
        assert field in text
    assert "9900000077Z" in refusal_mail.html_body()

    assert reminder.message["To"] == ONDE_TEAM
    assert reminder.message["Cc"] == EDUCONNECT_TEAM
    assert "Rappel" in reminder.message["Subject"]
    assert escalation.message["To"] == ASSISTANCE_TEAM
    assert set(escalation.rcpt_tos) == {ASSISTANCE_TEAM, ONDE_TEAM, EDUCONNECT_TEAM}
    assert set(notice.rcpt_tos) == {ONDE_TEAM, EDUCONNECT_TEAM, ASSISTANCE_TEAM}
    assert "ne figure plus dans ONDE" in notice.text_body()
    case = await pool.fetchrow(
        "SELECT status, closed_reason FROM cases WHERE link_id = $1", refusal.link_id
    )
    assert tuple(case) == ("closed", "corrected")


@pytest.mark.slow
async def test_withdrawal_closes_case_with_notice(
    local_stack, notifier_database_url, pool, producer, smtp_server
):
    settings = notifier_settings(local_stack, notifier_database_url, smtp_server.port)
    app = create_app(settings)
    refusal = recent_refusal(source="siecle")
    withdrawal = make_withdrawal(
        refusal, occurred_at=refusal.occurred_at + timedelta(days=2)
    )
    refusal_id, withdrawal_id = uuid.uuid4(), uuid.uuid4()

    async with app.router.lifespan_context(app):
        await publish_link_event(producer, refusal, refusal_id)
        await publish_link_event(producer, withdrawal, withdrawal_id)
        [notice] = await received_once(
            smtp_server, message_id(withdrawal_id, "closure"), "the closing notice"
        )

    assert notice.message["To"] == SIECLE_TEAM
    assert notice.message["Cc"] == EDUCONNECT_TEAM
    assert "a finalement confirmé" in notice.text_body()
    assert "Zoé" not in notice.text_body()
    case = await pool.fetchrow(
        "SELECT status, closed_reason FROM cases WHERE link_id = $1", refusal.link_id
    )
    assert tuple(case) == ("closed", "withdrawn")


async def test_account_message_mailed_once(
    local_stack, notifier_database_url, pool, producer, smtp_server
):
    await asyncio.to_thread(local_stack.kafka.create_topics, [ACCOUNT_MESSAGES_TOPIC])
    settings = notifier_settings(local_stack, notifier_database_url, smtp_server.port)
    app = create_app(settings)
    message = PasswordResetRequested(
        account_id="acc-42",
        email="parent.durand@example.org",
        occurred_at=datetime.now(UTC),
        reset_url="https://educonnect.example/reinitialiser?jeton=xyz",
        expires_at=datetime.now(UTC) + timedelta(hours=1),
    )
    event_id = uuid.uuid4()
    headers = cloudevent_headers(
        message,
        source="identity",
        subject=message.account_id,
        correlation_id="notifier-integration-test",
        event_id=event_id,
    )

    async with app.router.lifespan_context(app):
        for _ in range(3):
            await producer.send_and_wait(
                ACCOUNT_MESSAGES_TOPIC,
                value=message.model_dump_json().encode(),
                key=message.account_id.encode(),
                headers=[(name, value.encode()) for name, value in headers.items()],
            )
        [mail] = await received_once(
            smtp_server, message_id(event_id, "password_reset"), "the reset mail"
        )
        await wait_until(
            lambda: _processed(pool, event_id), seconds=30, what="the event record"
        )

    assert mail.rcpt_tos == ("parent.durand@example.org",)
    assert "jeton=xyz" in mail.text_body()
    assert (
        len(smtp_server.received_with_id(message_id(event_id, "password_reset"))) == 1
    )


async def _processed(pool, event_id):
    return bool(
        await pool.fetchval(
            "SELECT count(*) FROM processed_messages WHERE event_id = $1", event_id
        )
    )
