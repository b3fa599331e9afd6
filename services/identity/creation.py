"""Creating an account without a notice: the responsable records that match a
name and a mobile phone number, the one-time code sent by SMS to that number,
and the account that a right code creates with those records.

Every responsable record has a notice account (``accounts.responsable_id``)
with the name and mobile phone of the school's export. Exactly one account
holds each record (``account_responsables``). A new account takes
over the records that matched, so their notice accounts hold nothing any
more: such an emptied account can still log in with its notice, shows no
child and cannot be activated, because activation needs a confirmed child.
"""

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

import asyncpg

from services.identity import accounts
from services.identity.messages import request_message
from services.identity.phones import stored_forms
from shared.contracts.account_messages import MobileCodeRequested
from shared.names import name_key

CODE_DIGITS = 6
MAX_CODE_ATTEMPTS = 5

# Code requests allowed per mobile number and per client address in a
# rolling hour. One address may be a school or a mobile carrier's NAT, so it
# gets more. These limits are a judgment, not a measurement.
REQUEST_WINDOW = timedelta(hours=1)
MOBILE_REQUESTS_PER_WINDOW = 3
ADDRESS_REQUESTS_PER_WINDOW = 30


@dataclass(frozen=True)
class MatchedRecord:
    """A responsable record whose name and mobile matched, with the account
    that holds it."""

    responsable_id: str
    civilite: str
    nom: str
    prenom: str
    academie: str
    holder_id: uuid.UUID | None
    # The holding account keeps the record: it is activated, or disabled by
    # school staff, whose decision a new account must not undo.
    holder_keeps: bool


async def matching_records(
    connection: asyncpg.Connection, *, nom: str, prenom: str, mobile_key: str
) -> list[MatchedRecord]:
    """Return every responsable record, 1D and 2D and of every académie, whose
    school mobile number has the key ``mobile_key`` and whose normalised nom
    and prénom are those typed. A homonym with another number never matches."""
    rows = await connection.fetch(
        """
        SELECT record.responsable_id, record.civilite, record.nom, record.prenom,
               record.academie, holder.account_id AS holder_id,
               (holder.activated_at IS NOT NULL OR holder.disabled_at IS NOT NULL)
                   AS holder_keeps
        FROM accounts record
        LEFT JOIN account_responsables held
               ON held.responsable_id = record.responsable_id
        LEFT JOIN accounts holder ON holder.account_id = held.account_id
        WHERE record.kind = 'responsable'
          AND record.responsable_id IS NOT NULL
          AND record.source_mobile IS NOT NULL
          AND regexp_replace(record.source_mobile, '[^0-9]', '', 'g')
              = ANY($1::text[])
        ORDER BY record.created_at, record.responsable_id
        """,
        stored_forms(mobile_key),
    )
    wanted = (name_key(nom), name_key(prenom))
    return [
        MatchedRecord(**dict(row))
        for row in rows
        if (name_key(row["nom"]), name_key(row["prenom"])) == wanted
    ]


async def count_request(
    connection: asyncpg.Connection, *, mobile_key: str, address: str
) -> bool:
    """Count a code request against the number and the client address, unless
    either is over its limit. Returns False, counting nothing, when the
    request must be refused."""
    keys = {
        f"mobile:{mobile_key}": MOBILE_REQUESTS_PER_WINDOW,
        f"adresse:{address}": ADDRESS_REQUESTS_PER_WINDOW,
    }
    since = datetime.now(UTC) - REQUEST_WINDOW
    # Parallel requests for one key wait for each other, so none slips past
    # the count; sorted keys keep two requests from deadlocking.
    for key in sorted(keys):
        await connection.execute("SELECT pg_advisory_xact_lock(hashtext($1))", key)
    rows = await connection.fetch(
        "SELECT throttle_key, count(*) AS requests FROM code_requests"
        " WHERE throttle_key = ANY($1::text[]) AND requested_at > $2"
        " GROUP BY throttle_key",
        list(keys),
        since,
    )
    counts = {row["throttle_key"]: row["requests"] for row in rows}
    if any(counts.get(key, 0) >= limit for key, limit in keys.items()):
        return False
    await connection.executemany(
        "INSERT INTO code_requests (throttle_key) VALUES ($1)",
        [(key,) for key in keys],
    )
    await connection.execute(
        "DELETE FROM code_requests WHERE requested_at <= $1",
        datetime.now(UTC) - timedelta(days=1),
    )
    return True


def _code_hash(secret_key: str, account_id: uuid.UUID, code: str) -> bytes:
    message = f"{account_id}:{code}".encode()
    return hmac.new(secret_key.encode(), message, hashlib.sha256).digest()


async def send_code(
    connection: asyncpg.Connection,
    *,
    secret_key: str,
    nom: str,
    prenom: str,
    mobile_key: str,
    records: list[MatchedRecord],
    validity: timedelta,
) -> uuid.UUID:
    """Store a new one-time code for ``records``, valid for ``validity``, and
    ask the notifier, in the same transaction, to send it by SMS to
    ``mobile_key``. Returns the id the account will get, which identifies the
    code."""
    account_id = uuid.uuid4()
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    now = datetime.now(UTC)
    # Codes are kept a day past their expiry for the audit of a creation.
    await connection.execute(
        "DELETE FROM creation_codes WHERE expires_at <= $1", now - timedelta(days=1)
    )
    await connection.execute(
        """
        INSERT INTO creation_codes (account_id, mobile, nom, prenom,
                                    responsable_ids, code_hash, expires_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7)
        """,
        account_id,
        mobile_key,
        nom,
        prenom,
        [record.responsable_id for record in records],
        _code_hash(secret_key, account_id, code),
        now + validity,
    )
    await request_message(
        connection,
        MobileCodeRequested(
            account_id=str(account_id),
            mobile=mobile_key,
            occurred_at=now,
            code=code,
            purpose="account_creation",
            expires_at=now + validity,
        ),
    )
    return account_id


class CodeCheck(StrEnum):
    """Outcome of a typed code."""

    CREATED = "created"
    WRONG = "wrong"
    VOID = "void"
    ALREADY_ACTIVATED = "already_activated"


@dataclass(frozen=True)
class CodeOutcome:
    """What a typed code did, and the attempts left after a wrong one."""

    check: CodeCheck
    attempts_left: int = 0
    identifiant: str | None = None


async def use_code(
    connection: asyncpg.Connection,
    *,
    secret_key: str,
    account_id: uuid.UUID,
    code: str,
) -> CodeOutcome:
    """Check ``code`` and, when right, create the account with every record
    of the code that no activated account holds. Call inside a transaction.

    A code is void once used, expired or after ``MAX_CODE_ATTEMPTS`` wrong
    tries. When an activated account already holds one of the records, no
    account is created: the parent must log in to that account or reset its
    password, so one person never gets a second account."""
    row = await connection.fetchrow(
        "SELECT * FROM creation_codes WHERE account_id = $1 FOR UPDATE", account_id
    )
    if (
        row is None
        or row["used_at"] is not None
        or row["expires_at"] <= datetime.now(UTC)
        or row["failed_attempts"] >= MAX_CODE_ATTEMPTS
    ):
        return CodeOutcome(CodeCheck.VOID)

    expected = row["code_hash"]
    if not hmac.compare_digest(expected, _code_hash(secret_key, account_id, code)):
        failed = await connection.fetchval(
            "UPDATE creation_codes SET failed_attempts = failed_attempts + 1"
            " WHERE account_id = $1 RETURNING failed_attempts",
            account_id,
        )
        if failed >= MAX_CODE_ATTEMPTS:
            return CodeOutcome(CodeCheck.VOID)
        return CodeOutcome(CodeCheck.WRONG, attempts_left=MAX_CODE_ATTEMPTS - failed)

    await connection.execute(
        "UPDATE creation_codes SET used_at = now() WHERE account_id = $1", account_id
    )
    records = await _records_of_code(connection, row["responsable_ids"])
    if any(record.holder_keeps for record in records):
        return CodeOutcome(CodeCheck.ALREADY_ACTIVATED)
    if not records:
        return CodeOutcome(CodeCheck.VOID)
    identifiant = await _create_account(connection, account_id, row, records)
    return CodeOutcome(CodeCheck.CREATED, identifiant=identifiant)


async def _records_of_code(
    connection: asyncpg.Connection, responsable_ids: list[str]
) -> list[MatchedRecord]:
    """Return the code's records as they are now, with their holders locked
    so that no grouping or other creation moves them meanwhile."""
    rows = await connection.fetch(
        """
        SELECT record.responsable_id, record.civilite, record.nom, record.prenom,
               record.academie, holder.account_id AS holder_id,
               (holder.activated_at IS NOT NULL OR holder.disabled_at IS NOT NULL)
                   AS holder_keeps
        FROM account_responsables held
        JOIN accounts record ON record.responsable_id = held.responsable_id
        JOIN accounts holder ON holder.account_id = held.account_id
        WHERE held.responsable_id = ANY($1::text[])
        ORDER BY record.created_at, record.responsable_id
        FOR UPDATE OF held
        """,
        responsable_ids,
    )
    return [MatchedRecord(**dict(row)) for row in rows]


async def _create_account(
    connection: asyncpg.Connection,
    account_id: uuid.UUID,
    code_row: asyncpg.Record,
    records: list[MatchedRecord],
) -> str:
    """Insert the account, named as the oldest record spells the name, and
    move every record to it, with one audit row per record."""
    first = records[0]
    identifiant = await accounts.free_identifiant(
        connection, accounts.identifiant_base(first.prenom, first.nom)
    )
    await connection.execute(
        """
        INSERT INTO accounts (account_id, identifiant, kind, academie, civilite,
                              nom, prenom, creation_mobile)
        VALUES ($1, $2, 'responsable', $3, $4, $5, $6, $7)
        """,
        account_id,
        identifiant,
        first.academie,
        first.civilite,
        first.nom,
        first.prenom,
        code_row["mobile"],
    )
    await move_records(
        connection,
        [(record.responsable_id, record.holder_id) for record in records],
        to_account_id=account_id,
        reason="creation",
    )
    return identifiant


async def move_records(
    connection: asyncpg.Connection,
    records: list[tuple[str, uuid.UUID | None]],
    *,
    to_account_id: uuid.UUID,
    reason: str,
) -> None:
    """Make ``to_account_id`` hold each ``(responsable_id, holder)`` record,
    and keep an audit row of each move. Call inside a transaction."""
    await connection.executemany(
        "INSERT INTO responsable_moves"
        " (responsable_id, from_account_id, to_account_id, reason)"
        " VALUES ($1, $2, $3, $4)",
        [
            (responsable_id, holder, to_account_id, reason)
            for responsable_id, holder in records
        ],
    )
    await connection.execute(
        """
        INSERT INTO account_responsables (responsable_id, account_id)
        SELECT unnest($1::text[]), $2
        ON CONFLICT (responsable_id)
        DO UPDATE SET account_id = EXCLUDED.account_id, added_at = now()
        """,
        [responsable_id for responsable_id, _ in records],
        to_account_id,
    )
