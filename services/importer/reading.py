"""Reading of a run's school exports, in worker processes when the run is
large enough to gain from them.

Parsing and checking the files is about half of the importer's processor
time in a run that changes little, and a smaller share of a first import.
While the run's one process writes a school to PostgreSQL, worker processes
read the next schools, so that reading no longer waits for writing. A
thread would not do: parsing holds the interpreter lock.
"""

import asyncio
import multiprocessing
from collections import deque
from collections.abc import AsyncIterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from services.importer.records import SchoolExport
from services.importer.sources import SchoolFolder

# Runs with less than this many bytes of files are read in process. Starting
# a worker took about 0.2 s on the development machine, and reading 8 MB of
# the benchmark's files takes about 0.6 s of processor time there.
MIN_BYTES_FOR_WORKERS = 8 * 1024 * 1024


class ReaderWorkerFailed(Exception):
    """A worker process ended while it read a school, killed by the system
    for example. The files may be sound: the run fails rather than rejects."""

    def __init__(self, school: SchoolFolder) -> None:
        self.school = school
        super().__init__(
            f"the worker process reading {school.eleves.parent} (UAI {school.uai}) "
            "ended abruptly; check the memory available to the importer, or run "
            "it with IMPORTER_READ_WORKERS=0 to read in its own process"
        )


def _total_bytes(schools: Sequence[SchoolFolder]) -> int:
    return sum(
        path.stat().st_size
        for school in schools
        for path in (school.eleves, school.responsables)
    )


async def read_schools(
    schools: Sequence[SchoolFolder],
    *,
    workers: int,
    min_bytes: int = MIN_BYTES_FOR_WORKERS,
) -> AsyncIterator[SchoolExport]:
    """Yield the export of each school, in the order of ``schools``.

    With ``workers`` above zero and at least ``min_bytes`` of files, up to
    ``workers`` worker processes read ahead, and at most twice that many
    exports wait in memory. ``ImportFileRejected`` is raised at the school's
    turn, as it is without workers, and the schools read ahead are dropped.
    A worker that dies raises ``ReaderWorkerFailed`` for the school it was
    reading.
    """
    if workers <= 0 or _total_bytes(schools) < min_bytes:
        for school in schools:
            yield school.read()
        return

    # "spawn" starts each worker from a fresh interpreter: a fork of this
    # process would copy its event loop and database connections.
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
    pending: deque[tuple[SchoolFolder, Future[SchoolExport]]] = deque()
    upcoming = iter(schools)
    try:
        for school in upcoming:
            pending.append((school, pool.submit(SchoolFolder.read, school)))
            if len(pending) == 2 * workers:
                break
        while pending:
            school, future = pending.popleft()
            try:
                export = await asyncio.wrap_future(future)
            except BrokenProcessPool as exc:
                raise ReaderWorkerFailed(school) from exc
            following = next(upcoming, None)
            if following is not None:
                pending.append((following, pool.submit(SchoolFolder.read, following)))
            yield export
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
