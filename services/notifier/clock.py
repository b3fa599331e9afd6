"""The notifier's notion of now, passed to whatever decides by the time
(retries, expiries, deadlines) so that tests can set it."""

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]
"""Returns the current time, timezone-aware."""


def system_clock() -> datetime:
    """Return the current UTC time."""
    return datetime.now(UTC)
