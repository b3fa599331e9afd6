"""Account messages identity asks the notifier to send: one-time codes,
e-mail verification and password reset links, activation confirmations."""

import uuid

import asyncpg

from shared.contracts import Topic
from shared.contracts.account_messages import (
    AccountActivated,
    EmailVerificationRequested,
    MobileCodeRequested,
    OneTimeCodeRequested,
    PasswordResetRequested,
)
from shared.outbox import enqueue

SOURCE = "educonnect/identity"

AccountMessage = (
    OneTimeCodeRequested
    | EmailVerificationRequested
    | PasswordResetRequested
    | AccountActivated
    | MobileCodeRequested
)


async def request_message(
    connection: asyncpg.Connection, message: AccountMessage
) -> uuid.UUID:
    """Write ``message`` to identity's outbox in the caller's transaction, so
    it is sent if and only if the change that asks for it is committed.
    Returns the event id."""
    return await enqueue(
        connection,
        topic=Topic.IDENTITY_MESSAGES,
        key=message.account_id,
        event=message,
        source=SOURCE,
    )
