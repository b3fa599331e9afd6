"""Server-side browser sessions. The cookie contains a random token. The
database stores its SHA-256, the account once logged in, the CSRF token of the
session's forms and the data of a form in progress."""

import hashlib
import json
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import asyncpg

COOKIE_NAME = "educonnect_session"


@dataclass
class Session:
    """A browser session; ``token`` is only known to the browser and here."""

    token: str
    csrf_token: str
    account_id: uuid.UUID | None = None
    data: dict = field(default_factory=dict)
    is_new: bool = False


def _hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


async def load(pool: asyncpg.Pool, token: str | None) -> Session | None:
    """Return the live session of ``token``, or None if unknown or expired."""
    if not token:
        return None
    row = await pool.fetchrow(
        "SELECT account_id, csrf_token, data::text AS data FROM sessions"
        " WHERE token_hash = $1 AND expires_at > now()",
        _hash(token),
    )
    if row is None:
        return None
    return Session(token, row["csrf_token"], row["account_id"], json.loads(row["data"]))


async def create(
    pool: asyncpg.Pool,
    minutes: int,
    *,
    account_id: uuid.UUID | None = None,
) -> Session:
    """Start a session with fresh tokens."""
    session = Session(
        token=secrets.token_urlsafe(32),
        csrf_token=secrets.token_urlsafe(32),
        account_id=account_id,
        is_new=True,
    )
    await pool.execute(
        "INSERT INTO sessions (token_hash, account_id, csrf_token, expires_at)"
        " VALUES ($1, $2, $3, $4)",
        _hash(session.token),
        account_id,
        session.csrf_token,
        datetime.now(UTC) + timedelta(minutes=minutes),
    )
    return session


async def save(pool: asyncpg.Pool, session: Session, minutes: int) -> None:
    """Store the session's data and push its expiry back."""
    await pool.execute(
        "UPDATE sessions SET data = $2::jsonb, expires_at = $3 WHERE token_hash = $1",
        _hash(session.token),
        json.dumps(session.data),
        datetime.now(UTC) + timedelta(minutes=minutes),
    )


async def destroy(pool: asyncpg.Pool, session: Session) -> None:
    """End the session; its cookie no longer opens anything."""
    await pool.execute(
        "DELETE FROM sessions WHERE token_hash = $1", _hash(session.token)
    )


async def renew(
    pool: asyncpg.Pool, session: Session, minutes: int, account_id: uuid.UUID
) -> Session:
    """Replace the session by a new one for ``account_id``, so that a token
    known before login (session fixation) opens nothing after it."""
    await destroy(pool, session)
    return await create(pool, minutes, account_id=account_id)


async def end_others(pool: asyncpg.Pool, session: Session) -> None:
    """End every other session of the session's account, as after a change of
    password: a browser that knew the old password is logged out."""
    await pool.execute(
        "DELETE FROM sessions WHERE account_id = $1 AND token_hash <> $2",
        session.account_id,
        _hash(session.token),
    )


async def purge_expired(pool: asyncpg.Pool) -> int:
    """Delete the sessions past their expiry; return how many."""
    status = await pool.execute("DELETE FROM sessions WHERE expires_at <= now()")
    return int(status.split()[-1])
