"""A scriptable SMTP server on 127.0.0.1 for the notifier's integration tests.
It stores the mails it accepts and sends the replies a test configures."""

import email
import email.policy
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage

from aiosmtpd.controller import Controller

from shared.devstack.ports import LOOPBACK, free_port


@dataclass(frozen=True)
class ReceivedMail:
    """A mail accepted by the server: envelope recipients and parsed message."""

    rcpt_tos: tuple[str, ...]
    message: EmailMessage

    def text_body(self) -> str:
        return self.message.get_body(preferencelist=("plain",)).get_content()

    def html_body(self) -> str:
        return self.message.get_body(preferencelist=("html",)).get_content()


@dataclass
class _Handler:
    rcpt_replies: dict[str, str] = field(default_factory=dict)
    data_reply: str | None = None
    received: list[ReceivedMail] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        reply = self.rcpt_replies.get(address)
        if reply is not None:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.data_reply is not None:
            return self.data_reply
        message = email.message_from_bytes(
            envelope.original_content, policy=email.policy.default
        )
        with self.lock:
            self.received.append(ReceivedMail(tuple(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"


class SmtpServer:
    """An aiosmtpd server on a free loopback port, or on ``port`` when given.

    ``rcpt_replies`` maps a recipient to the reply its RCPT gets (for example
    ``"550 5.1.1 mailbox unavailable"``); ``data_reply`` replaces the reply to
    DATA, which then stores nothing.
    """

    def __init__(self, port: int | None = None) -> None:
        self.host = LOOPBACK
        self.port = port or free_port()
        self._handler = _Handler()
        self._controller: Controller | None = None

    @property
    def rcpt_replies(self) -> dict[str, str]:
        return self._handler.rcpt_replies

    def set_data_reply(self, reply: str | None) -> None:
        self._handler.data_reply = reply

    def start(self) -> "SmtpServer":
        # server_hostname keeps aiosmtpd from calling socket.getfqdn(), which
        # can send a DNS query off the machine.
        self._controller = Controller(
            self._handler,
            hostname=self.host,
            port=self.port,
            server_hostname="smtp.localhost",
        )
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def received(self) -> list[ReceivedMail]:
        with self._handler.lock:
            return list(self._handler.received)

    def received_with_id(self, message_id: str) -> list[ReceivedMail]:
        # A Message-ID longer than a header line is folded, legally, so its
        # parsed value starts with the folding whitespace.
        return [
            mail
            for mail in self.received()
            if str(mail.message["Message-ID"]).strip() == message_id
        ]
