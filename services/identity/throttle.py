"""Login throttling after the CNIL's 2022 recommendation on passwords: after
5 failures a delay of more than a minute that doubles with
each further failure, and at most 25 failures in 24 hours.

Failures are counted per identifiant (or e-mail address) as typed, whether
an account has it or not, so the response reveals nothing, and per client
address with higher limits, because many people may share one address (a
school, a mobile carrier's NAT). The same table counts the requests for a
password reset link, under keys of their own, so that nobody can fill a
mailbox with reset links."""

import hashlib
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg

from shared.names import email_key

WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class Limits:
    """When failures start to delay the next attempt, and how many a day
    are allowed at most."""

    free_failures: int
    first_delay: timedelta
    max_failures_per_window: int


IDENTIFIANT_LIMITS = Limits(
    free_failures=5, first_delay=timedelta(minutes=2), max_failures_per_window=25
)
# NOTE: the address is the TCP peer, because the service runs without proxy
# headers. Behind a reverse proxy every visitor would share the proxy's
# address, so uvicorn's proxy_headers must then be enabled for the proxy only.
# The address limits are a judgment for shared addresses, not a measurement.
ADDRESS_LIMITS = Limits(
    free_failures=50, first_delay=timedelta(minutes=2), max_failures_per_window=250
)


# Requests for a reset link, counted for each identifiant or address typed
# and for each client address. Every request counts, whether it sends a mail
# or not, so the limits reveal nothing about the accounts.
# NOTE: these limits are a judgment (a few links an hour for one person, more
# for a shared address), not a measurement of real use.
RESET_TARGET_LIMITS = Limits(
    free_failures=3, first_delay=timedelta(minutes=5), max_failures_per_window=10
)
RESET_ADDRESS_LIMITS = Limits(
    free_failures=50, first_delay=timedelta(minutes=2), max_failures_per_window=250
)


# An e-mail address has at most 254 characters (RFC 5321, 4.5.3.1), which is
# longer than any identifiant given out. A longer login fails without a
# database lookup.
MAX_IDENTIFIANT_LENGTH = 254


def is_plausible_identifiant(identifiant: str) -> bool:
    """Tell whether a typed identifiant or e-mail address could be one: at
    most 254 characters once trimmed, and none unprintable, such as NUL,
    which PostgreSQL rejects in text."""
    typed = identifiant.strip().lower()
    return len(typed) <= MAX_IDENTIFIANT_LENGTH and typed.isprintable()


def identifiant_key(identifiant: str) -> str:
    """Return the throttle key of a typed identifiant. One that could not be
    an identifiant is keyed by its SHA-256, so the key stays short and
    storable and its failures are still counted."""
    # An e-mail address is keyed as accounts compare it, so that every
    # spelling that finds one account (« ß » and « ss ») shares its count.
    typed = (
        email_key(identifiant) or ""
        if "@" in identifiant
        else identifiant.strip().lower()
    )
    if is_plausible_identifiant(identifiant):
        return "identifiant:" + typed
    digest = hashlib.sha256(typed.encode("utf-8", "surrogatepass")).hexdigest()
    return "identifiant-sha256:" + digest


def address_key(address: str) -> str:
    """Return the throttle key of a client address."""
    return "adresse:" + address


def reset_target_key(typed: str) -> str:
    """Return the throttle key of the identifiant or e-mail address typed in a
    request for a reset link."""
    return "reinitialisation-" + identifiant_key(typed)


def reset_address_key(address: str) -> str:
    """Return the throttle key of a client address asking for reset links."""
    return "reinitialisation-" + address_key(address)


def wait_after(
    limits: Limits, failure_times: list[datetime], now: datetime
) -> timedelta:
    """Return how long the key must wait before its next attempt, given its
    failures of the last 24 hours (zero when it may try now)."""
    count = len(failure_times)
    if count >= limits.max_failures_per_window:
        return max(min(failure_times) + WINDOW - now, timedelta(0))
    if count < limits.free_failures:
        return timedelta(0)
    delay = limits.first_delay * 2 ** (count - limits.free_failures)
    return max(max(failure_times) + min(delay, WINDOW) - now, timedelta(0))


async def lock_keys(connection: asyncpg.Connection, keys: list[str]) -> None:
    """Hold, until the transaction ends, a lock on each key, so that parallel
    attempts on one key wait for each other's outcome instead of all passing
    the check before any failure is counted. Every request locks its keys in
    sorted order, so two requests cannot deadlock on these locks."""
    for key in sorted(keys):
        await connection.execute("SELECT pg_advisory_xact_lock(hashtext($1))", key)


async def waits_before_login(
    connection: asyncpg.Connection, keys: dict[str, Limits]
) -> dict[str, timedelta]:
    """Return, for each of ``keys``, how long it must wait before a login may
    be tried (zero when it may try now)."""
    now = datetime.now(UTC)
    rows = await connection.fetch(
        "SELECT throttle_key, failed_at FROM login_failures"
        " WHERE throttle_key = ANY($1::text[]) AND failed_at > $2",
        list(keys),
        now - WINDOW,
    )
    waits = {}
    for key, limits in keys.items():
        times = [row["failed_at"] for row in rows if row["throttle_key"] == key]
        waits[key] = wait_after(limits, times, now)
    return waits


async def wait_before_login(
    connection: asyncpg.Connection, keys: dict[str, Limits]
) -> timedelta:
    """Return the longest wait among ``keys`` before a login may be tried."""
    waits = await waits_before_login(connection, keys)
    return max(waits.values(), default=timedelta(0))


async def record_failure(connection: asyncpg.Connection, keys: list[str]) -> None:
    """Count a failed login against each key, and delete every failure older
    than the window, whatever its key."""
    await connection.executemany(
        "INSERT INTO login_failures (throttle_key) VALUES ($1)",
        [(key,) for key in keys],
    )
    await connection.execute(
        "DELETE FROM login_failures WHERE failed_at <= $1",
        datetime.now(UTC) - WINDOW,
    )


async def forget_failures(connection: asyncpg.Connection, *keys: str) -> None:
    """Clear the failures of each key, after a successful login or a password
    reset."""
    await connection.execute(
        "DELETE FROM login_failures WHERE throttle_key = ANY($1::text[])", list(keys)
    )


def _duration(wait: timedelta) -> str:
    """Return a wait in French words, rounded up to the minute or, from two
    hours on, to the hour."""
    minutes = max(1, math.ceil(wait.total_seconds() / 60))
    if minutes >= 120:
        return f"{math.ceil(minutes / 60)} heures"
    if minutes == 1:
        return "1 minute"
    return f"{minutes} minutes"


def lock_message(wait: timedelta) -> str:
    """Return the French message shown while an identifiant is held back
    after too many wrong passwords. An identifiant that no account has gets
    the same message, so the message reveals nothing."""
    return (
        "Trop de tentatives de connexion ont échoué, votre compte est donc "
        f"verrouillé pour le protéger : réessayez dans {_duration(wait)}, ou "
        "débloquez-le dès maintenant en choisissant un nouveau mot de passe avec "
        "« Mot de passe oublié ? »."
    )


def reset_wait_message(wait: timedelta) -> str:
    """Return the French message shown while requests for a reset link are
    held back."""
    return (
        "Trop de demandes de nouveau mot de passe ont été faites. Pour "
        "protéger les comptes, les demandes sont suspendues : réessayez dans "
        f"{_duration(wait)}."
    )


def wait_message(wait: timedelta) -> str:
    """Return the French message shown while logins from a client address
    are held back, or while the current password of *Mon compte* is."""
    duration = _duration(wait)
    return (
        "Trop de tentatives de connexion ont échoué. Pour protéger votre compte, "
        f"la connexion est suspendue : réessayez dans {duration}. Si vous avez "
        "oublié votre mot de passe, contactez l'école ou l'établissement de "
        "votre enfant."
    )
