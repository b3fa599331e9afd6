"""SMTP delivery through the standard library's ``smtplib``.

``smtplib`` is blocking, so each send runs in a worker thread
(``asyncio.to_thread``). The notifier sends one mail at a time, so at most one
thread is busy. ``smtplib`` already implements STARTTLS, AUTH and the
per-recipient replies that decide between retrying and parking. An async
client would add a dependency, or a protocol implementation of our own, for no
gain at this volume. A send in a thread cannot be cancelled, which suits a
graceful stop: the mail in flight is finished, within the SMTP timeout.
"""

import asyncio
import smtplib
import socket
import ssl
from collections.abc import Mapping
from email.message import EmailMessage
from typing import Protocol

from services.notifier.errors import PermanentDeliveryError, TemporaryDeliveryError


class MailTransport(Protocol):
    """Hands a mail to a relay."""

    async def send(self, message: EmailMessage) -> dict[str, str]:
        """Send ``message`` to its To and Cc recipients. Returns the recipients
        the relay rejected while accepting the others, with its reply. Raises
        ``TemporaryDeliveryError`` or ``PermanentDeliveryError`` when the
        relay accepted it for no recipient."""


class SmtpTransport:
    """Sends each mail over a new connection to one SMTP relay."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        starttls: bool,
        username: str | None = None,
        password: str | None = None,
        helo_hostname: str | None = None,
        timeout_seconds: float = 30.0,
    ) -> None:
        self._host = host
        self._port = port
        self._starttls = starttls
        self._username = username
        self._password = password
        self._timeout_seconds = timeout_seconds
        # smtplib's own default, socket.getfqdn(), may query DNS at each send.
        self._helo_hostname = helo_hostname or socket.gethostname()

    async def send(self, message: EmailMessage) -> dict[str, str]:
        return await asyncio.to_thread(self._send_blocking, message)

    def _send_blocking(self, message: EmailMessage) -> dict[str, str]:
        try:
            client = smtplib.SMTP(
                self._host,
                self._port,
                local_hostname=self._helo_hostname,
                timeout=self._timeout_seconds,
            )
        except OSError as exc:
            raise TemporaryDeliveryError(
                f"cannot connect to {self._host}:{self._port}: {_describe(exc)}"
            ) from exc

        try:
            self._open_session(client)
            refused = _send_transaction(client, message)
        finally:
            # The relay has the mail once the DATA reply came back, so a failed
            # QUIT must not turn a delivered mail into a retry.
            try:
                client.quit()
            except OSError:
                client.close()
        return {
            address: _reply(code, text) for address, (code, text) in refused.items()
        }

    def _open_session(self, client: smtplib.SMTP) -> None:
        # Failures here concern the relay or our settings, never one mail, so
        # they are all temporary: parking would stop every mail for a
        # configuration fixed minutes later.
        try:
            client.ehlo()
            if self._starttls:
                client.starttls(context=ssl.create_default_context())
                client.ehlo()
            if self._username is not None and self._password is not None:
                client.login(self._username, self._password)
        except smtplib.SMTPResponseException as exc:
            raise TemporaryDeliveryError(
                f"relay {self._host}:{self._port} rejected the session: "
                f"{_reply(exc.smtp_code, exc.smtp_error)}"
            ) from exc
        except OSError as exc:
            raise TemporaryDeliveryError(
                f"session with {self._host}:{self._port} failed: {_describe(exc)}"
            ) from exc


def _send_transaction(
    client: smtplib.SMTP, message: EmailMessage
) -> Mapping[str, tuple[int, bytes]]:
    """Run MAIL, RCPT and DATA; a 5xx reply there concerns this mail."""
    try:
        return client.send_message(message)
    except smtplib.SMTPRecipientsRefused as exc:
        replies = "; ".join(
            f"{address}: {_reply(code, text)}"
            for address, (code, text) in exc.recipients.items()
        )
        if all(code >= 500 for code, _ in exc.recipients.values()):
            raise PermanentDeliveryError(f"recipients rejected: {replies}") from exc
        raise TemporaryDeliveryError(f"recipients deferred: {replies}") from exc
    except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
        step = "sender" if isinstance(exc, smtplib.SMTPSenderRefused) else "content"
        reason = f"{step} rejected: {_reply(exc.smtp_code, exc.smtp_error)}"
        if exc.smtp_code >= 500:
            raise PermanentDeliveryError(reason) from exc
        raise TemporaryDeliveryError(reason) from exc
    except OSError as exc:
        raise TemporaryDeliveryError(f"sending failed: {_describe(exc)}") from exc


def _reply(code: int, text: bytes | str) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    return f"{code} {text}"


def _describe(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__
