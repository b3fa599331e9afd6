import uuid
from datetime import UTC, datetime

import pytest

from services.notifier.directory import load_directory
from services.notifier.errors import PermanentDeliveryError, TemporaryDeliveryError
from services.notifier.handlers import compose_refusal_mail
from services.notifier.mail import build_email_message
from services.notifier.smtp import SmtpTransport
from shared.devstack.ports import free_port

from ..factories import make_refusal
from .smtp_server import SmtpServer

pytestmark = pytest.mark.integration

TO = "diffusion-siecle@ac-rennes.example"
CC = "diffusion-educonnect@ac-rennes.example"


@pytest.fixture
def smtp_server():
    server = SmtpServer().start()
    try:
        yield server
    finally:
        server.stop()


def transport_for(port, **options):
    return SmtpTransport(
        "127.0.0.1",
        port,
        starttls=False,
        helo_hostname="notifier.localhost",
        timeout_seconds=5,
        **options,
    )


def refusal_message():
    mail = compose_refusal_mail(
        make_refusal(academie="rennes", source="siecle"),
        uuid.uuid4(),
        directory=load_directory(),
        correction_days=30,
    )
    return build_email_message(
        mail,
        sender="EduConnect <ne-pas-repondre@educonnect.example>",
        date=datetime(2020, 1, 15, 10, 0, tzinfo=UTC),
    )


async def test_delivers_to_and_cc(smtp_server):
    message = refusal_message()

    refused = await transport_for(smtp_server.port).send(message)

    received = smtp_server.received()
    assert refused == {}
    assert len(received) == 1
    assert set(received[0].rcpt_tos) == {TO, CC}
    assert received[0].message["Message-ID"] == message["Message-ID"]


async def test_delivers_text_and_html(smtp_server):
    await transport_for(smtp_server.port).send(refusal_message())

    mail = smtp_server.received()[0]
    assert "INE : 9900000001K" in mail.text_body()
    assert "<td>9900000001K</td>" in mail.html_body()


async def test_connection_refused_is_temporary():
    with pytest.raises(TemporaryDeliveryError, match="cannot connect"):
        await transport_for(free_port()).send(refusal_message())


async def test_all_recipients_rejected_is_permanent(smtp_server):
    smtp_server.rcpt_replies[TO] = "550 5.1.1 mailbox unavailable"
    smtp_server.rcpt_replies[CC] = "550 5.1.1 mailbox unavailable"

    with pytest.raises(PermanentDeliveryError) as error:
        await transport_for(smtp_server.port).send(refusal_message())

    assert f"{TO}: 550 5.1.1 mailbox unavailable" in error.value.reason


async def test_deferred_recipient_is_temporary(smtp_server):
    smtp_server.rcpt_replies[TO] = "450 4.2.1 mailbox busy"
    smtp_server.rcpt_replies[CC] = "550 5.1.1 mailbox unavailable"

    with pytest.raises(TemporaryDeliveryError, match="450 4.2.1"):
        await transport_for(smtp_server.port).send(refusal_message())


async def test_one_rejected_recipient_is_returned(smtp_server):
    smtp_server.rcpt_replies[CC] = "550 5.1.1 mailbox unavailable"

    refused = await transport_for(smtp_server.port).send(refusal_message())

    assert refused == {CC: "550 5.1.1 mailbox unavailable"}
    assert smtp_server.received()[0].rcpt_tos == (TO,)


async def test_content_rejected_is_permanent(smtp_server):
    smtp_server.set_data_reply("554 5.6.0 message refused")

    with pytest.raises(PermanentDeliveryError, match="content rejected: 554"):
        await transport_for(smtp_server.port).send(refusal_message())


async def test_content_deferred_is_temporary(smtp_server):
    smtp_server.set_data_reply("451 4.3.0 try again later")

    with pytest.raises(TemporaryDeliveryError, match="content rejected: 451"):
        await transport_for(smtp_server.port).send(refusal_message())


async def test_missing_starttls_is_temporary(smtp_server):
    transport = SmtpTransport(
        "127.0.0.1",
        smtp_server.port,
        starttls=True,
        helo_hostname="notifier.localhost",
        timeout_seconds=5,
    )

    with pytest.raises(TemporaryDeliveryError, match="STARTTLS"):
        await transport.send(refusal_message())
