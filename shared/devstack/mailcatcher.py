"""An SMTP server on loopback that keeps every mail it receives, for tests and demos.

In a test, start a MailCatcher in-process and assert on `messages()` or `wait_for()`.
For `make run` it also serves a web page listing the mails (see mailweb.py);
`python -m shared.devstack.mailcatcher` runs it on its own.
"""

import argparse
import email
import email.policy
import itertools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from shared.devstack.ports import LOOPBACK, free_port
from shared.devstack.processes import track, untrack

logger = logging.getLogger(__name__)

# The name the server gives in its greeting. Without it aiosmtpd calls
# socket.getfqdn(), which can send a DNS query off the machine.
SERVER_HOSTNAME = "mailcatcher.localhost"


@dataclass(frozen=True)
class ReceivedMail:
    """A mail as the SMTP server received it: envelope, parsed message and raw bytes."""

    id: int
    mail_from: str
    rcpt_tos: tuple[str, ...]
    message: EmailMessage
    raw: bytes
    received_at: datetime

    @property
    def subject(self) -> str:
        return str(self.message.get("Subject", ""))

    def is_to(self, address: str) -> bool:
        """Return whether `address` is an envelope recipient, ignoring case."""
        return address.lower() in (recipient.lower() for recipient in self.rcpt_tos)

    def text_body(self) -> str:
        """Return the text/plain body with LF line ends, or "" when there is none."""
        return self._body("plain") or ""

    def html_body(self) -> str | None:
        """Return the text/html body with LF line ends, or None when there is none."""
        return self._body("html")

    def _body(self, subtype: str) -> str | None:
        part = self.message.get_body(preferencelist=(subtype,))
        if part is None:
            return None
        # SMTP carries CRLF line ends; tests compare with Python strings.
        return part.get_content().replace("\r\n", "\n")


class MailCatcher:
    """An SMTP server on 127.0.0.1 that stores received mails in memory.

    Access to the stored mails is thread-safe: the SMTP server runs in a thread of
    its own, and `wait_for` blocks the caller until a matching mail arrives.
    """

    def __init__(self, *, http: bool = False, smtp_port: int = 0, http_port: int = 0):
        self.smtp_host = LOOPBACK
        self.smtp_port = smtp_port
        self.http_port = http_port
        self._serve_http = http
        self._mails: list[ReceivedMail] = []
        self._condition = threading.Condition()
        self._ids = itertools.count(1)
        self._controller: Controller | None = None
        self._web = None

    def __repr__(self) -> str:
        return f"MailCatcher(smtp_port={self.smtp_port}, http_port={self.http_port})"

    def __enter__(self) -> "MailCatcher":
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def http_url(self) -> str | None:
        """URL of the web page, or None when it is not served."""
        return self._web.url if self._web else None

    def start(self) -> "MailCatcher":
        """Start the SMTP server and, if requested, the web page; port 0 picks one."""
        if self._controller is not None:
            raise RuntimeError("mail catcher was already started")
        self.smtp_port = self.smtp_port or free_port()

        self._controller = Controller(
            _StoringHandler(self._store),
            hostname=LOOPBACK,
            port=self.smtp_port,
            server_hostname=SERVER_HOSTNAME,
            enable_SMTPUTF8=True,
        )
        self._controller.start()
        track(self)

        if self._serve_http:
            # Imported here so that tests without the page do not load jinja2.
            from shared.devstack.mailweb import MailWebServer

            self._web = MailWebServer(self, port=self.http_port).start()
            self.http_port = self._web.port
        logger.info(
            "mailcatcher_started smtp_port=%d http_url=%s",
            self.smtp_port,
            self.http_url,
        )
        return self

    def stop(self) -> None:
        """Stop the SMTP server and the web page; safe to call more than once."""
        untrack(self)
        if self._web is not None:
            self._web.stop()
            self._web = None
        if self._controller is not None:
            self._controller.stop()
            self._controller = None
            logger.info("mailcatcher_stopped smtp_port=%d", self.smtp_port)

    def messages(self) -> list[ReceivedMail]:
        """Return a copy of the received mails, oldest first."""
        with self._condition:
            return list(self._mails)

    def get(self, mail_id: int) -> ReceivedMail | None:
        """Return the mail with this id, or None."""
        with self._condition:
            return next((mail for mail in self._mails if mail.id == mail_id), None)

    def clear(self) -> None:
        """Forget every received mail."""
        with self._condition:
            self._mails.clear()

    def wait_for(
        self, predicate: Callable[[ReceivedMail], bool], timeout: float = 10.0
    ) -> ReceivedMail:
        """Return the first mail matching `predicate`, waiting up to `timeout` seconds.

        Raises TimeoutError listing the recipients and subjects of the mails that
        did arrive, which is usually enough to see why none matched.
        """
        deadline = time.monotonic() + timeout
        with self._condition:
            while True:
                for mail in self._mails:
                    if predicate(mail):
                        return mail
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    received = [(mail.rcpt_tos, mail.subject) for mail in self._mails]
                    raise TimeoutError(
                        f"no mail matched within {timeout:.1f} s; "
                        f"{len(received)} received (recipients, subject): {received!r}"
                    )
                self._condition.wait(remaining)

    def _store(self, envelope: Envelope) -> ReceivedMail:
        raw = envelope.original_content or b""
        mail = ReceivedMail(
            id=next(self._ids),
            mail_from=envelope.mail_from or "",
            rcpt_tos=tuple(envelope.rcpt_tos),
            message=email.message_from_bytes(raw, policy=email.policy.default),
            raw=raw,
            received_at=datetime.now(UTC),
        )
        with self._condition:
            self._mails.append(mail)
            self._condition.notify_all()
        logger.info("mail_received id=%d recipients=%d", mail.id, len(mail.rcpt_tos))
        return mail


class _StoringHandler:
    """aiosmtpd handler that passes each accepted mail to a callback."""

    def __init__(self, store: Callable[[Envelope], ReceivedMail]) -> None:
        self._store = store

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope):
        self._store(envelope)
        return "250 Message accepted for delivery"


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m shared.devstack.mailcatcher",
        description="Receive mails over SMTP on 127.0.0.1 and list them on a web page.",
    )
    parser.add_argument(
        "--smtp-port", type=int, default=0, help="SMTP port (default: a free one)"
    )
    parser.add_argument(
        "--http-port", type=int, default=0, help="web page port (default: a free one)"
    )
    arguments = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    catcher = MailCatcher(
        http=True, smtp_port=arguments.smtp_port, http_port=arguments.http_port
    ).start()
    print(f"SMTP: {catcher.smtp_host}:{catcher.smtp_port}", flush=True)
    print(f"Web page: {catcher.http_url}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        catcher.stop()


if __name__ == "__main__":
    main()
