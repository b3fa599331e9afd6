"""Errors of the notifier service, all under ``NotifierError``.

- ``DirectoryError``: the académie directory file cannot be used.
- ``UnreadableMessage``: a consumed message can never be processed, whatever
  the number of attempts (no usable ``ce_id`` header, invalid payload).
- ``DeliveryError``: an SMTP send failed; ``TemporaryDeliveryError`` is
  retried later, ``PermanentDeliveryError`` parks the mail.
"""


class NotifierError(Exception):
    """Root of the notifier's errors."""


class DirectoryError(NotifierError):
    """The académie directory file is missing, unreadable or invalid."""


class UnreadableMessage(NotifierError):
    """A consumed message that no retry can process."""


class DeliveryError(NotifierError):
    """An SMTP send that failed; ``reason`` is the server's reply or the
    connection error, suitable for the mail queue."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TemporaryDeliveryError(DeliveryError):
    """A failure that may pass: connection refused or lost, timeout, 4xx reply,
    or a rejected login or STARTTLS, which concern the server, not the mail."""


class PermanentDeliveryError(DeliveryError):
    """A 5xx reply to the mail transaction itself (sender, recipients or
    content): sending the same mail again would fail the same way."""
