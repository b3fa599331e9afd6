"""The lifespan task that deletes expired sessions."""

import asyncio
import contextlib
from datetime import timedelta

import asyncpg

from services.identity.app import purge_expired_sessions


class PurgingPool:
    """Fake asyncpg pool that records the purge queries. The first one fails
    as a lost connection would."""

    def __init__(self, rounds_expected: int):
        self.queries: list[str] = []
        self.rounds_expected = rounds_expected
        self.done = asyncio.Event()

    async def execute(self, query: str, *args) -> str:
        self.queries.append(query)
        if len(self.queries) >= self.rounds_expected:
            self.done.set()
        if len(self.queries) == 1:
            raise asyncpg.PostgresConnectionError("connexion perdue")
        return "DELETE 3"


async def test_purge_retries_after_failed_round():
    pool = PurgingPool(rounds_expected=3)
    task = asyncio.create_task(purge_expired_sessions(pool, timedelta(0)))

    await asyncio.wait_for(pool.done.wait(), timeout=10)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task

    assert len(pool.queries) >= 3
    assert all(
        "DELETE FROM sessions WHERE expires_at <= now()" in query
        for query in pool.queries
    )
