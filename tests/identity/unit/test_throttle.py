from datetime import UTC, datetime, timedelta

import pytest

from services.identity.throttle import (
    ADDRESS_LIMITS,
    IDENTIFIANT_LIMITS,
    MAX_IDENTIFIANT_LENGTH,
    address_key,
    identifiant_key,
    lock_keys,
    wait_after,
    wait_message,
)

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def failures(count: int, last: datetime = NOW) -> list[datetime]:
    """Return ``count`` failure times, one a second, the last at ``last``."""
    return [last - timedelta(seconds=count - 1 - index) for index in range(count)]


def test_four_failures_cost_no_wait():
    assert wait_after(IDENTIFIANT_LIMITS, failures(4), NOW) == timedelta(0)


def test_fifth_failure_waits_more_than_a_minute():
    assert wait_after(IDENTIFIANT_LIMITS, failures(5), NOW) > timedelta(minutes=1)


def test_wait_doubles_with_each_failure():
    sixth = wait_after(IDENTIFIANT_LIMITS, failures(6), NOW)
    seventh = wait_after(IDENTIFIANT_LIMITS, failures(7), NOW)

    assert seventh == 2 * sixth


def test_wait_runs_from_the_last_failure():
    earlier = NOW - timedelta(minutes=1)

    assert wait_after(IDENTIFIANT_LIMITS, failures(5, earlier), NOW) == timedelta(
        minutes=1
    )


def test_25th_failure_blocks_for_the_day():
    first = NOW - timedelta(hours=3)
    times = [first] + failures(24)

    assert wait_after(IDENTIFIANT_LIMITS, times, NOW) == timedelta(hours=21)


def test_address_allows_more_failures_than_an_identifiant():
    times = failures(IDENTIFIANT_LIMITS.free_failures)

    assert wait_after(ADDRESS_LIMITS, times, NOW) == timedelta(0)
    assert ADDRESS_LIMITS.max_failures_per_window > 25


def test_identifiant_key_ignores_case_and_blanks():
    assert identifiant_key(" J.Dupont1 ") == identifiant_key("j.dupont1")
    assert identifiant_key("j.dupont1") != address_key("j.dupont1")


@pytest.mark.parametrize(
    ("wait", "text"),
    [
        (timedelta(seconds=10), "réessayez dans 1 minute."),
        (timedelta(seconds=61), "réessayez dans 2 minutes."),
        (timedelta(hours=21), "réessayez dans 21 heures."),
    ],
)
def test_wait_message_gives_the_duration(wait, text):
    assert text in wait_message(wait)


@pytest.mark.parametrize(
    "typed", ["a" * 3000, "a.dupont1\x00", "a.dupont1\x00" + "b" * 100]
)
def test_invalid_identifiant_gets_short_key(typed):
    key = identifiant_key(typed)

    assert len(key) <= 100
    assert key.isprintable()
    assert key != identifiant_key(typed + "x")
    assert key == identifiant_key(typed.upper())


def test_longest_identifiant_keeps_its_key():
    typed = "a." + "b" * (MAX_IDENTIFIANT_LENGTH - 2)

    assert identifiant_key(typed) == "identifiant:" + typed


class RecordingConnection:
    """Fake asyncpg connection that records the arguments of each query."""

    def __init__(self):
        self.executed: list[tuple] = []

    async def execute(self, query: str, *args) -> str:
        self.executed.append((query, *args))
        return "SELECT 1"


async def test_keys_locked_in_sorted_order():
    keys = [address_key("203.0.113.7"), identifiant_key("a.dupont1")]
    first, second = RecordingConnection(), RecordingConnection()

    await lock_keys(first, keys)
    await lock_keys(second, list(reversed(keys)))

    locked = [arguments[1] for arguments in first.executed]
    assert sorted(locked) == sorted(keys)
    assert locked == [arguments[1] for arguments in second.executed]
    assert all("pg_advisory_xact_lock" in query for query, _ in first.executed)
