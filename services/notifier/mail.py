"""Mails as the notifier queues and sends them."""

from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from uuid import UUID

# The domain part of every Message-ID we generate (RFC 5322, section 3.6.4).
MESSAGE_ID_DOMAIN = "educonnect.example"


@dataclass(frozen=True)
class OutgoingMail:
    """A rendered mail and the event that caused it, as stored in the queue."""

    message_id: str
    kind: str
    event_id: UUID
    academie: str
    to: tuple[str, ...]
    cc: tuple[str, ...]
    subject: str
    text: str
    html: str
    parked_reason: str | None = None
    """Reason the mail cannot be sent as composed. A mail with a reason is
    stored parked."""


def message_id_for(event_id: UUID, kind: str) -> str:
    """Return the Message-ID of the ``kind`` mail for ``event_id``. One event
    gives one Message-ID, so a mail sent twice can be recognised."""
    return f"<{event_id}.{kind}@{MESSAGE_ID_DOMAIN}>"


def build_email_message(
    mail: OutgoingMail, *, sender: str, date: datetime
) -> EmailMessage:
    """Build the MIME message of ``mail``: a plain text body with an HTML
    alternative, dated ``date`` (the time it was queued)."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(mail.to)
    if mail.cc:
        message["Cc"] = ", ".join(mail.cc)
    message["Subject"] = mail.subject
    message["Date"] = format_datetime(date)
    message["Message-ID"] = mail.message_id

    message.set_content(mail.text)
    message.add_alternative(mail.html, subtype="html")
    return message
