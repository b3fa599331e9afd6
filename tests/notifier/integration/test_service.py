"""The notifier end to end: real PostgreSQL and Kafka from the session's
local stack, and an SMTP server of each test's own on a free loopback port.

Each test runs the notifier in a consumer group of its own, so a notifier
that other tests started in the session does not take its messages. Such a
group also reads the earlier events of the links topic and mails them, so
assertions select mails by Message-ID.
"""

import asyncio
import sys
import uuid
from datetime import UTC, datetime

import httpx
import pytest

from services.notifier.app import create_app
from services.notifier.settings import Settings
from shared.devstack.kafka import REPO_ROOT
from shared.devstack.ports import free_port
from shared.devstack.processes import ManagedProcess

from ..factories import make_confirmation, make_refusal
from .conftest import publish_link_event, wait_until
from .smtp_server import SmtpServer

pytestmark = pytest.mark.integration

ONDE_TEAM = "diffusion-onde@ac-nantes.example"
EDUCONNECT_TEAM = "diffusion-educonnect@ac-nantes.example"


def message_id_of(event_id):
    return f"<{event_id}.refusal@educonnect.example>"


def group_id():
    return f"notifier-test-{uuid.uuid4().hex[:12]}"


def notifier_settings(local_stack, database_url, smtp_port):
    return Settings(
        environment="test",
        database_url=database_url,
        kafka_bootstrap_servers=local_stack.kafka_bootstrap_servers,
        kafka_group_id=group_id(),
        smtp_host="127.0.0.1",
        smtp_port=smtp_port,
        smtp_helo_hostname="notifier.localhost",
        smtp_timeout_seconds=5,
        poll_interval_seconds=0.1,
        retry_initial_delay_seconds=0.2,
        retry_max_delay_seconds=1.0,
        consumer_retry_delay_seconds=0.2,
    )


async def mail_row(pool, event_id):
    return await pool.fetchrow(
        "SELECT * FROM mail_queue WHERE message_id = $1", message_id_of(event_id)
    )


@pytest.fixture
def smtp_server():
    server = SmtpServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.slow
async def test_service_mails_refusal_once(
    local_stack, notifier_database_url, pool, producer, smtp_server, tmp_path
):
    http_port = free_port()
    env = {
        "NOTIFIER_ENVIRONMENT": "test",
        "NOTIFIER_DATABASE_URL": notifier_database_url,
        "NOTIFIER_KAFKA_BOOTSTRAP_SERVERS": local_stack.kafka_bootstrap_servers,
        "NOTIFIER_KAFKA_GROUP_ID": group_id(),
        "NOTIFIER_HTTP_HOST": "127.0.0.1",
        "NOTIFIER_HTTP_PORT": str(http_port),
        "NOTIFIER_SMTP_HOST": smtp_server.host,
        "NOTIFIER_SMTP_PORT": str(smtp_server.port),
        "NOTIFIER_SMTP_HELO_HOSTNAME": "notifier.localhost",
        "NOTIFIER_POLL_INTERVAL_SECONDS": "0.1",
    }
    process = ManagedProcess(
        "notifier",
        [sys.executable, "-m", "services.notifier"],
        log_path=tmp_path / "notifier.log",
        env={**local_stack.process_env("notifier"), **env},
        cwd=REPO_ROOT,
    ).start()
    try:
        health_url = f"http://127.0.0.1:{http_port}/healthz"
        await asyncio.to_thread(process.wait_for_http, health_url, 60)
        async with httpx.AsyncClient(trust_env=False) as client:
            health = await client.get(health_url)

        event = make_refusal(
            academie="nantes",
            source="onde",
            ine="9900000042X",
            source_eleve_id=None,
            occurred_at=datetime(2020, 1, 20, 16, 5, tzinfo=UTC),
        )
        event_id = uuid.uuid4()
        for _ in range(3):
            await publish_link_event(producer, event, event_id)
        # Same key, so same partition: once the notifier has recorded this
        # later event, it has handled the three copies before it.
        sentinel_id = uuid.uuid4()
        await publish_link_event(producer, make_confirmation(), sentinel_id)

        async def sentinel_processed():
            return bool(
                await pool.fetchval(
                    "SELECT count(*) FROM processed_messages WHERE event_id = $1",
                    sentinel_id,
                )
            )

        async def mail_sent():
            row = await mail_row(pool, event_id)
            return row is not None and row["status"] == "sent"

        await wait_until(sentinel_processed, seconds=60, what="the sentinel event")
        await wait_until(mail_sent, seconds=30, what="the refusal mail to be sent")
    finally:
        process.stop()

    assert health.status_code == 200
    assert health.json() == {"status": "ok"}
    received = smtp_server.received_with_id(message_id_of(event_id))
    assert len(received) == 1
    mail = received[0]
    assert mail.message["To"] == ONDE_TEAM
    assert mail.message["Cc"] == EDUCONNECT_TEAM
    assert set(mail.rcpt_tos) == {ONDE_TEAM, EDUCONNECT_TEAM}
    assert "INE : 9900000042X" in mail.text_body()
    assert "à corriger avant le 19/02/2020" in mail.text_body()
    assert "9900000042X" in mail.html_body()
    assert "élève 9900000042X – 0991234X" in mail.message["Subject"]


async def test_mail_arrives_once_after_smtp_outage(
    local_stack, notifier_database_url, pool, producer
):
    smtp_port = free_port()
    settings = notifier_settings(local_stack, notifier_database_url, smtp_port)
    app = create_app(settings)
    event = make_refusal(academie="nantes", source="onde")
    event_id = uuid.uuid4()

    async def deferred():
        row = await mail_row(pool, event_id)
        return row is not None and row["attempts"] >= 1

    async def sent():
        row = await mail_row(pool, event_id)
        return row["status"] == "sent"

    server = None
    async with app.router.lifespan_context(app):
        await publish_link_event(producer, event, event_id)
        await wait_until(deferred, seconds=60, what="a failed first attempt")
        deferred_row = await mail_row(pool, event_id)

        server = SmtpServer(port=smtp_port).start()
        try:
            await wait_until(sent, seconds=30, what="the mail to be sent")
            # A few more polls of the sender: nothing may be sent again.
            await asyncio.sleep(1)
        finally:
            server.stop()

    received = server.received_with_id(message_id_of(event_id))
    assert deferred_row["status"] == "queued"
    assert "cannot connect" in deferred_row["last_error"]
    assert len(received) == 1
    assert (await mail_row(pool, event_id))["attempts"] >= 2


async def test_rejected_mail_is_parked(
    local_stack, notifier_database_url, pool, producer, smtp_server
):
    smtp_server.rcpt_replies[ONDE_TEAM] = "550 5.1.1 mailbox unavailable"
    smtp_server.rcpt_replies[EDUCONNECT_TEAM] = "550 5.1.1 mailbox unavailable"
    settings = notifier_settings(local_stack, notifier_database_url, smtp_server.port)
    app = create_app(settings)
    event_id = uuid.uuid4()

    async def parked():
        row = await mail_row(pool, event_id)
        return row is not None and row["status"] == "parked"

    async with app.router.lifespan_context(app):
        await publish_link_event(
            producer, make_refusal(academie="nantes", source="onde"), event_id
        )
        await wait_until(parked, seconds=60, what="the mail to be parked")

    row = await mail_row(pool, event_id)
    assert row["parked_reason"] == (
        f"recipients rejected: {ONDE_TEAM}: 550 5.1.1 mailbox unavailable; "
        f"{EDUCONNECT_TEAM}: 550 5.1.1 mailbox unavailable"
    )
    assert row["attempts"] == 1
    assert smtp_server.received_with_id(message_id_of(event_id)) == []
