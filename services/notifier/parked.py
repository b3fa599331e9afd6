"""Operator access to the parked mails and the dead letters: listing them,
putting parked mails back in the queue and replaying dead letters once their
cause is fixed."""

import json
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg
from pydantic import TypeAdapter, ValidationError

from services.notifier.account_messages import (
    ACCOUNT_MESSAGES_TOPIC,
    DEFAULT_SMS_GATEWAY_DOMAIN,
    AccountMessage,
)
from services.notifier.cases import PostgresCaseBook
from services.notifier.directory import Directory
from services.notifier.handlers import (
    LinkMessage,
    handle_account_message,
    handle_link_event,
)
from services.notifier.mail_queue import PostgresMailQueue
from shared.contracts import LinkEvent, Topic
from shared.kafka import batch_event_id, event_id_from_headers
from shared.logging import get_logger

logger = get_logger(__name__)

# Kinds of mail whose recipients follow from the case opened by their event.
_CASE_KINDS = ("refusal", "reminder", "escalation")


@dataclass(frozen=True)
class ParkedMail:
    """A parked mail as the ``parked list`` command shows it."""

    id: int
    kind: str
    academie: str
    to: tuple[str, ...]
    attempts: int
    queued_at: datetime
    reason: str


@dataclass(frozen=True)
class CommandResult:
    """Result of resending one parked mail or replaying one dead letter.
    ``error`` is the reason it stayed as it was, or None on success."""

    id: int
    error: str | None = None


async def list_parked(pool: asyncpg.Pool) -> list[ParkedMail]:
    """Return every parked mail, oldest first."""
    rows = await pool.fetch(
        "SELECT id, kind, academie, to_addresses, attempts, queued_at,"
        " parked_reason FROM mail_queue WHERE status = 'parked'"
        " ORDER BY queued_at, id"
    )
    return [
        ParkedMail(
            id=row["id"],
            kind=row["kind"],
            academie=row["academie"],
            to=tuple(row["to_addresses"]),
            attempts=row["attempts"],
            queued_at=row["queued_at"],
            reason=row["parked_reason"],
        )
        for row in rows
    ]


async def resend_parked(
    pool: asyncpg.Pool, mail_ids: list[int] | None, *, directory: Directory
) -> list[CommandResult]:
    """Queue the parked mails ``mail_ids`` (every parked mail when None) for
    an immediate attempt, keeping their Message-ID and attempt count.

    A mail parked without recipients, because its académie was missing from
    the directory, gets them from the directory now when the académie is
    there and the mail is a refusal or a case mail."""
    if mail_ids is None:
        mail_ids = [mail.id for mail in await list_parked(pool)]

    results = []
    for mail_id in mail_ids:
        async with pool.acquire() as connection, connection.transaction():
            row = await connection.fetchrow(
                "SELECT status, kind, academie, event_id, to_addresses"
                " FROM mail_queue WHERE id = $1 FOR UPDATE",
                mail_id,
            )
            error = await _requeue(connection, mail_id, row, directory)
        results.append(CommandResult(mail_id, error))
        if error is None:
            logger.info("parked_mail_requeued", mail_id=mail_id)
        else:
            logger.warning("parked_mail_not_requeued", mail_id=mail_id, error=error)
    return results


async def _requeue(
    connection: asyncpg.Connection,
    mail_id: int,
    row: asyncpg.Record | None,
    directory: Directory,
) -> str | None:
    if row is None:
        return f"mail {mail_id} not found; list parked mails with 'parked list'"
    if row["status"] != "parked":
        return f"mail {mail_id} is {row['status']}, not parked; nothing to resend"

    to, cc = tuple(row["to_addresses"]), ()
    if not to:
        academie = directory.get(row["academie"])
        if academie is None:
            return (
                f"mail {mail_id} has no recipients and académie "
                f"{row['academie']!r} is still missing from the directory; add it "
                "to the file named by NOTIFIER_DIRECTORY_PATH, then resend"
            )
        source = await connection.fetchval(
            "SELECT source FROM cases WHERE opened_by = $1", row["event_id"]
        )
        if source is None or row["kind"] not in _CASE_KINDS:
            return (
                f"mail {mail_id} ({row['kind']}) has no recipients and they cannot "
                "be derived again; it stays parked"
            )
        diffusion_team = academie.diffusion_team(source)
        if row["kind"] == "escalation":
            to, cc = (academie.assistance,), (diffusion_team, academie.educonnect)
        else:
            to, cc = (diffusion_team,), (academie.educonnect,)

    await connection.execute(
        "UPDATE mail_queue SET status = 'queued', parked_reason = NULL,"
        " next_attempt_at = now(), to_addresses = $2,"
        " cc_addresses = CASE WHEN cardinality(to_addresses) = 0 THEN $3"
        " ELSE cc_addresses END WHERE id = $1",
        mail_id,
        list(to),
        list(cc),
    )
    return None


@dataclass(frozen=True)
class DeadLetterSummary:
    """A dead letter as the ``dead-letters list`` command shows it."""

    id: int
    topic: str
    partition: int
    offset: int
    received_at: datetime
    reason: str
    replayed_at: datetime | None = None


async def list_dead_letters(pool: asyncpg.Pool) -> list[DeadLetterSummary]:
    """Return every dead letter, oldest first, without its payload."""
    rows = await pool.fetch(
        'SELECT id, topic, "partition", "offset", received_at, reason, replayed_at'
        " FROM dead_letters ORDER BY received_at, id"
    )
    return [
        DeadLetterSummary(
            id=row["id"],
            topic=row["topic"],
            partition=row["partition"],
            offset=row["offset"],
            received_at=row["received_at"],
            reason=row["reason"],
            replayed_at=row["replayed_at"],
        )
        for row in rows
    ]


# A lone event, as on the first links topic, reads as a batch of one.
_LINK_MESSAGES: TypeAdapter[list[LinkEvent]] = TypeAdapter(LinkMessage)
_ACCOUNT_MESSAGES: TypeAdapter[AccountMessage] = TypeAdapter(AccountMessage)


async def replay_dead_letters(
    pool: asyncpg.Pool,
    letter_ids: list[int] | None,
    *,
    directory: Directory,
    correction_days: int,
    sms_gateway_domain: str = DEFAULT_SMS_GATEWAY_DOMAIN,
) -> list[CommandResult]:
    """Handle the dead letters ``letter_ids`` (every one not yet replayed when
    None) as the subscriber would, and mark those handled as replayed.

    Replaying is for a letter whose cause is fixed (a directory entry, a
    notifier that now knows the contract): one still unreadable stays as it
    was. The handlers record each event id, so a letter replayed twice, or
    whose event arrived again meanwhile, queues nothing twice."""
    if letter_ids is None:
        letter_ids = [
            letter.id
            for letter in await list_dead_letters(pool)
            if letter.replayed_at is None
        ]

    results = []
    for letter_id in letter_ids:
        row = await pool.fetchrow(
            "SELECT topic, headers, payload FROM dead_letters WHERE id = $1",
            letter_id,
        )
        error = await _replay(
            pool, letter_id, row, directory, correction_days, sms_gateway_domain
        )
        results.append(CommandResult(letter_id, error))
        if error is None:
            await pool.execute(
                "UPDATE dead_letters SET replayed_at = now() WHERE id = $1", letter_id
            )
            logger.info("dead_letter_replayed", dead_letter_id=letter_id)
        else:
            logger.warning(
                "dead_letter_not_replayed", dead_letter_id=letter_id, error=error
            )
    return results


async def _replay(
    pool: asyncpg.Pool,
    letter_id: int,
    row: asyncpg.Record | None,
    directory: Directory,
    correction_days: int,
    sms_gateway_domain: str,
) -> str | None:
    if row is None:
        return f"dead letter {letter_id} not found; list them with 'dead-letters list'"
    headers = row["headers"]
    if isinstance(headers, str):
        headers = json.loads(headers)
    payload = row["payload"] or b""
    queue = PostgresMailQueue(pool)
    try:
        event_id = event_id_from_headers(headers)
        if row["topic"] in (Topic.LINKS, Topic.LINKS_V1):
            events = _LINK_MESSAGES.validate_json(payload)
            for position, event in enumerate(events):
                await handle_link_event(
                    event,
                    batch_event_id(event_id, position),
                    queue=queue,
                    cases=PostgresCaseBook(pool),
                    directory=directory,
                    correction_days=correction_days,
                )
        elif row["topic"] == ACCOUNT_MESSAGES_TOPIC:
            await handle_account_message(
                _ACCOUNT_MESSAGES.validate_json(payload),
                event_id,
                queue=queue,
                now=datetime.now(UTC),
                sms_gateway_domain=sms_gateway_domain,
            )
        else:
            return f"dead letter {letter_id} is from unknown topic {row['topic']!r}"
    except ValidationError as exc:
        # Field paths only: the values may be personal data, such as an INE.
        fields = ", ".join(
            ".".join(str(part) for part in error["loc"]) or error["msg"]
            for error in exc.errors()
        )
        return f"dead letter {letter_id} is still unreadable: invalid {fields}"
    except ValueError as exc:
        return f"dead letter {letter_id} is still unreadable: {exc}"
    return None
