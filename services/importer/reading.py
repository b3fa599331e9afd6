"""Reading of a run's school exports, and their comparison with the
scopes' digests, in worker processes when the run is large enough to gain
from them.

Parsing and checking the files, and writing each record's payload and its
digest, is most of the importer's processor time in a run that changes
little. While the run's one process writes a school to PostgreSQL, worker
processes read and compare the next schools, so that reading no longer
waits for writing, and only what changed comes back from a worker. A thread
would not do: parsing holds the interpreter lock.
"""

import asyncio
import multiprocessing
import os
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from services.importer.changes import (
    ExportComparison,
    ScopeDigests,
    Snapshot,
    compare_export,
)
from services.importer.sources import SchoolFolder
from shared.collector import tune_garbage_collector

# Runs with less than this many bytes of files are read in process. Starting
# a worker took about 0.2 s on the development machine, and reading 8 MB of
# the benchmark's files takes about 0.6 s of processor time there.
MIN_BYTES_FOR_WORKERS = 8 * 1024 * 1024


# Each worker took about 70 MB in a run of 1,000,000 pupils, beside about
# 110 MB for the run's process: two keep the importer well within 300 MB.
MAX_DEFAULT_WORKERS = 2


def default_workers() -> int:
    """Return how many workers a run starts by default: one per processor
    this process may use, at most ``MAX_DEFAULT_WORKERS``."""
    return min(MAX_DEFAULT_WORKERS, len(os.sched_getaffinity(0)))


class ReaderWorkerFailed(Exception):
    """A worker process ended while it read schools, killed by the system
    for example. The files may be sound: the run fails rather than rejects.

    ``school`` is the first school of the run whose reading had not
    returned: the one the worker was reading, or one before it in the run.
    """

    def __init__(self, school: SchoolFolder) -> None:
        self.school = school
        super().__init__(
            f"a worker process ended abruptly while reading {school.eleves.parent} "
            f"(UAI {school.uai}) or a school after it; check the memory available "
            "to the importer, or run it with IMPORTER_READ_WORKERS=0 to read in "
            "its own process"
        )


def _total_bytes(schools: Sequence[SchoolFolder]) -> int:
    return sum(
        path.stat().st_size
        for school in schools
        for path in (school.eleves, school.responsables)
    )


def _worker_context() -> multiprocessing.context.BaseContext:
    # Workers are forked from a fresh server process that has imported this
    # module: a fork of the run's process would copy its event loop and
    # database connections, and "spawn" would import the run's whole command
    # line again in each worker (0.3 s of processor time each).
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])
    return context


def read_and_compare(
    school: SchoolFolder, academie: str, previous: ScopeDigests, full: bool
) -> ExportComparison:
    """Read a school's files and compare them with its scope's digests;
    raises ``ImportFileRejected``."""
    return compare_export(school.read(), academie, previous, full=full)


async def read_schools(
    schools: Sequence[SchoolFolder],
    load: Callable[[SchoolFolder], Awaitable[Snapshot]],
    *,
    academie: str,
    full: bool,
    workers: int,
    min_bytes: int = MIN_BYTES_FOR_WORKERS,
) -> AsyncIterator[tuple[Snapshot, ExportComparison]]:
    """Yield each school's snapshot, as ``load`` returns it, and the
    comparison of its export with it, in the order of ``schools``.

    ``load`` is awaited for a school before its files are read, one school at
    a time, and between two steps of the caller's iteration only, so it may
    use the caller's connection.

    With ``workers`` above zero and at least ``min_bytes`` of files, up to
    ``workers`` worker processes read ahead, and at most four times that
    many schools wait in memory, so that a school slow to write does not
    leave the workers idle. ``ImportFileRejected`` is raised at the school's
    turn, as it is without workers, and the schools read ahead are dropped.
    A worker that dies raises ``ReaderWorkerFailed`` for the first school
    whose reading had not returned.
    """
    if workers <= 0 or _total_bytes(schools) < min_bytes:
        for school in schools:
            snapshot = await load(school)
            yield snapshot, read_and_compare(school, academie, snapshot.digests, full)
        return

    pool = ProcessPoolExecutor(
        workers, mp_context=_worker_context(), initializer=tune_garbage_collector
    )
    pending: deque[tuple[SchoolFolder, Snapshot, Future[ExportComparison]]] = deque()

    async def submit(school: SchoolFolder) -> None:
        snapshot = await load(school)
        try:
            future = pool.submit(
                read_and_compare, school, academie, snapshot.digests, full
            )
        except BrokenProcessPool as exc:
            raise ReaderWorkerFailed(pending[0][0] if pending else school) from exc
        pending.append((school, snapshot, future))

    upcoming = iter(schools)
    try:
        for school in upcoming:
            await submit(school)
            if len(pending) == 4 * workers:
                break
        while pending:
            school, snapshot, future = pending.popleft()
            try:
                comparison = await asyncio.wrap_future(future)
            except BrokenProcessPool as exc:
                raise ReaderWorkerFailed(school) from exc
            following = next(upcoming, None)
            if following is not None:
                await submit(following)
            yield snapshot, comparison
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
