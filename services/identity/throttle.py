"""Login throttling after the CNIL's 2022 recommendation on passwords: after
5 failures a delay of more than a minute that doubles with
each further failure, and at most 25 failures in 24 hours.

Failures are counted per identifiant as typed, whether an account has it or
not, so the response reveals nothing, and per client address with higher
limits, because many people may share one address (a school, a mobile
carrier's NAT)."""

import hashlib
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg

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


# Longer than any identifiant given out, which is a letter, a dot, at most 20
# letters and a number. A longer one fails to log in without a database lookup.
MAX_IDENTIFIANT_LENGTH = 64


def is_plausible_identifiant(identifiant: str) -> bool:
    """Tell whether a typed identifiant could be one: at most 64 characters
    once trimmed, and none unprintable, such as NUL, which PostgreSQL rejects
    in text."""
    typed = identifiant.strip().lower()
    return len(typed) <= MAX_IDENTIFIANT_LENGTH and typed.isprintable()


def identifiant_key(identifiant: str) -> str:
    """Return the throttle key of a typed identifiant. One that could not be
    an identifiant is keyed by its SHA-256, so the key stays short and
    storable and its failures are still counted."""
    typed = identifiant.strip().lower()
    if is_plausible_identifiant(identifiant):
        return "identifiant:" + typed
    digest = hashlib.sha256(typed.encode("utf-8", "surrogatepass")).hexdigest()
    return "identifiant-sha256:" + digest


def address_key(address: str) -> str:
    """Return the throttle key of a client address."""
    return "adresse:" + address


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


async def wait_before_login(
    connection: asyncpg.Connection, keys: dict[str, Limits]
) -> timedelta:
    """Return the longest wait among ``keys`` before a login may be tried."""
    now = datetime.now(UTC)
    rows = await connection.fetch(
        "SELECT throttle_key, failed_at FROM login_failures"
        " WHERE throttle_key = ANY($1::text[]) AND failed_at > $2",
        list(keys),
        now - WINDOW,
    )
    longest = timedelta(0)
    for key, limits in keys.items():
        times = [row["failed_at"] for row in rows if row["throttle_key"] == key]
        longest = max(longest, wait_after(limits, times, now))
    return longest


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


async def forget_failures(connection: asyncpg.Connection, key: str) -> None:
    """Clear the failures of a key after a successful login."""
    await connection.execute("DELETE FROM login_failures WHERE throttle_key = $1", key)


def wait_message(wait: timedelta) -> str:
    """Return the French message shown while logins are held back."""
    minutes = max(1, math.ceil(wait.total_seconds() / 60))
    if minutes >= 120:
        duration = f"{math.ceil(minutes / 60)} heures"
    elif minutes == 1:
        duration = "1 minute"
    else:
        duration = f"{minutes} minutes"
    return (
        "Trop de tentatives de connexion ont échoué. Pour protéger votre compte, "
        f"la connexion est suspendue : réessayez dans {duration}. Si vous avez "
        "oublié votre mot de passe, contactez l'école ou l'établissement de "
        "votre enfant."
    )
