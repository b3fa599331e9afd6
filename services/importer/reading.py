"""Reading of a run's school exports, in worker processes when the run is
large enough to gain from them.

Parsing and checking the files takes more than half of a full import's
processor time. While the run's one process writes a school to PostgreSQL,
worker processes read the next schools, so that reading no longer waits for
writing. A thread would not do: parsing holds the interpreter lock.
"""

import asyncio
import multiprocessing
from collections import deque
from collections.abc import AsyncIterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor

from services.importer.records import SchoolExport
from services.importer.sources import SchoolFolder

# Below this many schools, starting the workers costs more than it saves.
MIN_SCHOOLS_FOR_WORKERS = 4


def _read(school: SchoolFolder) -> SchoolExport:
    return school.read()


async def read_schools(
    schools: Sequence[SchoolFolder], *, workers: int
) -> AsyncIterator[SchoolExport]:
    """Yield the export of each school, in the order of ``schools``.

    With ``workers`` above zero and enough schools, up to ``workers`` worker
    processes read ahead, and at most twice that many exports wait in
    memory. ``ImportFileRejected`` is raised where the school comes, as it is
    without workers, and the schools read ahead are then dropped.
    """
    if workers <= 0 or len(schools) < MIN_SCHOOLS_FOR_WORKERS:
        for school in schools:
            yield school.read()
        return

    # "spawn" starts each worker from a fresh interpreter: a fork of this
    # process would copy its event loop and database connections.
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
    pending: deque[Future[SchoolExport]] = deque()
    upcoming = iter(schools)
    try:
        for school in upcoming:
            pending.append(pool.submit(_read, school))
            if len(pending) == 2 * workers:
                break
        while pending:
            export = await asyncio.wrap_future(pending.popleft())
            school = next(upcoming, None)
            if school is not None:
                pending.append(pool.submit(_read, school))
            yield export
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
