"""Benchmark of the importer on a synthetic académie (see generate.py).

    python bench/import_benchmark.py [--pupils 1000000] [--workdir DIR]

Starts PostgreSQL and Kafka on loopback (shared.devstack.LocalStack), writes
the académie and a copy with 1 % of pupils changed, then measures in one run:

1. baseline: the same files read by a bare streaming parser (``iterparse``,
   ``csv``) and loaded with plain COPY into unindexed tables;
2. the importer's first full import, until the links service has applied
   every event it published;
3. a second full import with 1 % of pupils and links changed;
4. the same import again, which must write and publish nothing.

Each import runs as its own ``python -m services.importer`` process, whose
peak resident memory is read from ``wait4``. The links service runs as two
processes, as deployed, each started as the tests start it
(``LocalStack.start_service``), on the same database and broker; an import
counts until the links consumer group has committed the end of both import
topics, which it does once it has applied their messages. Times are wall
clock.
"""

import argparse
import asyncio
import csv
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from xml.etree import ElementTree

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from bench.generate import generate  # noqa: E402
from services.links.consumers import GROUP_ID as LINKS_GROUP  # noqa: E402
from shared.contracts import Topic  # noqa: E402
from shared.devstack.stack import LocalStack  # noqa: E402

BATCH = 10_000
ACADEMIE = "versailles"
# Links processes, as many as deploy/k8s/base/links.yaml runs: they share the
# partitions of the importer's topics.
LINKS_REPLICAS = 2
# How long the benchmark waits for links to apply the events of one import.
APPLY_TIMEOUT_SECONDS = 3_600


def main() -> None:
    """Parse the arguments and run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pupils", type=int, default=1_000_000)
    parser.add_argument(
        "--links-replicas",
        type=int,
        default=LINKS_REPLICAS,
        help=f"links service processes (default {LINKS_REPLICAS}, as deployed)",
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        help="folder for the files and the stack (default: a temporary folder)",
    )
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="importer-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    # At INFO, links logs one line per event. The figures measure the work.
    os.environ.setdefault("LINKS_LOG_LEVEL", "WARNING")
    # A stack folder left by an earlier run contains a formatted Kafka storage
    # and a database cluster, which the new stack would reject.
    shutil.rmtree(workdir / "stack", ignore_errors=True)
    try:
        with LocalStack(workdir / "stack") as stack:
            asyncio.run(run(stack, workdir, args.pupils, args.links_replicas))
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)


async def run(
    stack: LocalStack, workdir: Path, pupils: int, links_replicas: int
) -> None:
    """Generate the files, then measure the baseline and the three imports
    with ``links_replicas`` links processes applying the events."""
    started = time.monotonic()
    base, changed = workdir / "base", workdir / "changed"
    counts = generate(base, pupils)
    generate(changed, pupils, changed=0.01)
    size = sum(path.stat().st_size for path in base.rglob("*") if path.is_file())
    print(
        f"académie: {counts['pupils']} pupils, {counts['responsables']} legal "
        f"responsables, {counts['ecoles']} écoles, {counts['colleges']} collèges, "
        f"{size / 1e6:.0f} MB; generated in {time.monotonic() - started:.0f} s"
    )

    baseline_url = await create_database(stack, "bench_baseline")
    baseline = await measure_baseline(baseline_url, base)
    print(
        f"baseline (streaming parse + COPY): {baseline['seconds']:.1f} s, "
        f"{baseline['rows']} rows"
    )

    url = stack.database_url
    for instance in range(1, links_replicas + 1):
        stack.start_service("links", instance=instance)
    print(f"links service: {links_replicas} processes in one consumer group")
    env = {
        **stack.process_env("importer"),
        "IMPORTER_LOG_LEVEL": "WARNING",
    }
    runs = [
        ("first full import", base),
        ("1 % changed", changed),
        ("unchanged", changed),
    ]
    for number, (label, folder) in enumerate(runs, start=1):
        settled = await settle(url)
        print(f"  database settled in {settled:.1f} s (VACUUM ANALYZE, CHECKPOINT)")
        before = await database_counts(url)
        after_id = await last_outbox_id(url)
        started = time.monotonic()
        seconds, max_rss, tree_rss = run_importer(
            env, folder, workdir / f"import{number}.log"
        )
        await wait_until_applied(url, stack.kafka_bootstrap_servers, after_id)
        applied = time.monotonic() - started
        after = await database_counts(url)
        events = after["events"] - before["events"]
        print(
            f"{label}: {applied:.1f} s = {applied / baseline['seconds']:.2f}× "
            f"baseline until links applied every event (importer {seconds:.1f} s "
            f"= {seconds / baseline['seconds']:.2f}×, links done "
            f"{applied - seconds:.1f} s after it), importer peak RSS "
            f"{max_rss / 1024:.0f} MB ({tree_rss / 1024:.0f} MB with its reader "
            f"workers), {events} events "
            f"({after['published'] - before['published']} published), snapshot "
            f"rows written {after['written'] - before['written']} (updated "
            f"{after['updated'] - before['updated']}); links holds "
            f"{after['links_eleves']} pupils, {after['links_links']} links, "
            f"{after['links_responsables']} responsables"
        )


async def last_outbox_id(url: str) -> int:
    """Return the id of the importer's newest outbox row, 0 when none."""
    connection = await asyncpg.connect(url)
    try:
        if await connection.fetchval("SELECT to_regclass('importer.outbox')") is None:
            return 0
        return await connection.fetchval(
            "SELECT coalesce(max(id), 0) FROM importer.outbox"
        )
    finally:
        await connection.close()


async def wait_until_applied(url: str, bootstrap_servers: str, after_id: int) -> None:
    """Wait until the importer's outbox rows after ``after_id`` are published
    and the links consumer group has committed, on both import topics, the
    end offsets that Kafka gives at that moment.

    The links consumers commit a batch's offsets after its transaction, so
    a committed end means every message was applied. Each message carries a
    batch of events whose id the relay makes when it publishes it. So the
    wait reads offsets rather than the ids that links recorded.
    """
    deadline = time.monotonic() + APPLY_TIMEOUT_SECONDS
    connection = await asyncpg.connect(url)
    try:
        while await connection.fetchval(
            "SELECT count(*) FROM importer.outbox"
            " WHERE id > $1 AND published_at IS NULL AND failed_at IS NULL",
            after_id,
        ):
            _check_deadline(deadline, "the importer's outbox was not published")
            await asyncio.sleep(0.1)
    finally:
        await connection.close()

    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await consumer.start()
    await admin.start()
    try:
        partitions = [
            TopicPartition(described["topic"], partition["partition"])
            for described in await admin.describe_topics(
                [Topic.RESPONSABLES, Topic.ELEVES]
            )
            for partition in described["partitions"]
        ]
        if not partitions:
            raise RuntimeError(
                "no partition found for the import topics: check that the stack"
                " created them"
            )
        ends = await consumer.end_offsets(partitions)
        while True:
            committed = await admin.list_consumer_group_offsets(LINKS_GROUP)
            if all(
                end == 0
                or (partition in committed and committed[partition].offset >= end)
                for partition, end in ends.items()
            ):
                return
            _check_deadline(deadline, "links did not apply every message")
            await asyncio.sleep(0.1)
    finally:
        await admin.close()
        await consumer.stop()


def _check_deadline(deadline: float, failure: str) -> None:
    if time.monotonic() > deadline:
        raise RuntimeError(
            f"{failure} within {APPLY_TIMEOUT_SECONDS} s: see the logs in the stack"
            " folder"
        )


async def create_database(stack: LocalStack, name: str) -> str:
    """Create an empty database and return its URL."""
    connection = await asyncpg.connect(stack.database_url)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return stack.database_url.rsplit("/", 1)[0] + f"/{name}"


def run_importer(
    env: dict[str, str], folder: Path, log: Path
) -> tuple[float, int, int]:
    """Run one full import of ``folder`` and return its seconds and two peaks
    of resident memory in KiB: that of its largest process, and that of all
    its processes together. Its output goes to ``log``, and its last line,
    the totals, is printed."""
    command = [
        sys.executable,
        "-m",
        "services.importer",
        "import",
        "--academie",
        ACADEMIE,
        str(folder / "siecle"),
        str(folder / "onde"),
    ]
    started = time.monotonic()
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, cwd=REPO_ROOT, env=env, stdout=output, stderr=subprocess.STDOUT
        )
        memory = TreeMemory(process.pid)
        memory.start()
        _, status, usage = os.wait4(process.pid, 0)
        memory.stop()
    seconds = time.monotonic() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    lines = log.read_text(errors="replace").splitlines()
    if process.returncode != 0:
        raise RuntimeError(
            f"importer exited with {process.returncode}, see {log}: {lines[-5:]}"
        )
    print("  " + next(line for line in reversed(lines) if line.startswith("import ")))
    return seconds, usage.ru_maxrss, memory.peak_kib


class TreeMemory(threading.Thread):
    """Samples the resident memory of a process and of its descendants (the
    importer's reader workers) together, and keeps the highest sum.

    ``ru_maxrss`` from ``wait4`` is the peak of the largest single process,
    not of the processes together. Sampling every ``interval`` seconds may
    miss a peak shorter than that.
    """

    def __init__(self, pid: int, interval: float = 0.1) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.interval = interval
        self.peak_kib = 0
        self._stopped = threading.Event()

    def run(self) -> None:
        """Sample until ``stop`` is called."""
        while not self._stopped.wait(self.interval):
            self.peak_kib = max(self.peak_kib, tree_rss_kib(self.pid))

    def stop(self) -> None:
        """Stop sampling and wait for the thread."""
        self._stopped.set()
        self.join()


def tree_rss_kib(pid: int) -> int:
    """Return the resident memory of ``pid`` and its descendants, in KiB,
    read from ``/proc``; processes that end meanwhile count as 0."""
    total = 0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            children = Path(f"/proc/{current}/task/{current}/children").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
        pending.extend(int(child) for child in children.split())
    return total


async def settle(url: str) -> float:
    """Vacuum and analyze every table, then checkpoint, and return the
    seconds it took.

    Imports come a week apart, so each starts on a database whose
    maintenance of the previous import is done. Without this, autovacuum and
    checkpoints of the first import's millions of rows run during the next
    one and are counted in its time.
    """
    started = time.monotonic()
    connection = await asyncpg.connect(url)
    try:
        await connection.execute("VACUUM (ANALYZE)")
        await connection.execute("CHECKPOINT")
    finally:
        await connection.close()
    return time.monotonic() - started


async def database_counts(url: str) -> dict[str, int]:
    """Return the events in the importer's outbox, published or not, the rows
    inserted, updated and deleted in the snapshot tables so far, and the rows
    of the links tables."""
    connection = await asyncpg.connect(url)
    try:
        counts = {}
        for name, table in (
            ("links_eleves", "links.eleves"),
            ("links_links", "links.links"),
            ("links_responsables", "links.responsables"),
        ):
            exists = await connection.fetchval("SELECT to_regclass($1)", table)
            counts[name] = (
                0
                if exists is None
                else await connection.fetchval(f"SELECT count(*) FROM {table}")
            )
        events = (
            None
            if await connection.fetchval("SELECT to_regclass('importer.outbox')")
            is None
            else await connection.fetchrow(
                "SELECT coalesce(sum(message_count), 0) AS events,"
                " coalesce(sum(message_count)"
                "  FILTER (WHERE published_at IS NOT NULL), 0) AS published"
                " FROM importer.outbox"
            )
        )
        counts["events"] = 0 if events is None else events["events"]
        counts["published"] = 0 if events is None else events["published"]
        # Statistics of other sessions reach the view within about a second.
        await asyncio.sleep(1.5)
        row = await connection.fetchrow(
            "SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) AS written,"
            " coalesce(sum(n_tup_upd), 0) AS updated FROM pg_stat_user_tables"
            " WHERE schemaname = 'importer' AND relname IN"
            " ('snapshot_eleves', 'snapshot_responsables', 'published_responsables')"
        )
    finally:
        await connection.close()
    return counts | {"written": row["written"], "updated": row["updated"]}


async def measure_baseline(url: str, folder: Path) -> dict:
    """Parse every file with a bare streaming parser and COPY its rows into
    unindexed tables; return the seconds and the rows loaded."""
    connection = await asyncpg.connect(url)
    try:
        await connection.execute(
            "CREATE UNLOGGED TABLE IF NOT EXISTS raw_eleves"
            " (uai text, id text, ine text, nom text, prenom text, naissance text);"
            "CREATE UNLOGGED TABLE IF NOT EXISTS raw_responsables"
            " (uai text, id text, civilite text, nom text, prenom text, email text,"
            " mobile text);"
            "CREATE UNLOGGED TABLE IF NOT EXISTS raw_links"
            " (uai text, eleve_id text, personne_id text, niveau text);"
        )
        started = time.monotonic()
        rows = 0
        for school in sorted((folder / "siecle").iterdir()):
            rows += await load_siecle(connection, school)
        for school in sorted((folder / "onde").iterdir()):
            rows += await load_onde(connection, school)
        seconds = time.monotonic() - started
    finally:
        await connection.close()
    return {"seconds": seconds, "rows": rows}


async def load_siecle(connection: asyncpg.Connection, school: Path) -> int:
    """Stream both XML files of a collège into the raw tables."""
    uai = school.name
    eleves, personnes, links = [], [], []
    for _, element in ElementTree.iterparse(school / "ElevesSansAdresses.xml"):
        if element.tag == "ELEVE":
            eleves.append(
                (
                    uai,
                    element.get("ELEVE_ID"),
                    element.findtext("ID_NATIONAL"),
                    element.findtext("NOM_DE_FAMILLE"),
                    element.findtext("PRENOM"),
                    element.findtext("DATE_NAISS"),
                )
            )
            element.clear()
    for _, element in ElementTree.iterparse(school / "ResponsablesAvecAdresses.xml"):
        if element.tag == "PERSONNE":
            personnes.append(
                (
                    uai,
                    element.get("PERSONNE_ID"),
                    element.findtext("LC_CIVILITE"),
                    element.findtext("NOM_DE_FAMILLE"),
                    element.findtext("PRENOM"),
                    element.findtext("MEL"),
                    element.findtext("TEL_PORTABLE"),
                )
            )
            element.clear()
        elif element.tag == "RESPONSABLE_ELEVE":
            links.append(
                (
                    uai,
                    element.findtext("ELEVE_ID"),
                    element.findtext("PERSONNE_ID"),
                    element.findtext("NIVEAU_RESPONSABILITE"),
                )
            )
            element.clear()
    await copy(connection, "raw_eleves", eleves)
    await copy(connection, "raw_responsables", personnes)
    await copy(connection, "raw_links", links)
    return len(eleves) + len(personnes) + len(links)


async def load_onde(connection: asyncpg.Connection, school: Path) -> int:
    """Stream both CSV files of an école into the raw tables."""
    eleves, responsables = read_onde(school)
    await copy(connection, "raw_eleves", eleves)
    await copy(connection, "raw_responsables", responsables)
    return len(eleves) + len(responsables)


def read_onde(school: Path) -> tuple[list, list]:
    """Return the rows of both CSV files of an école."""
    uai = school.name
    with open(school / "eleves.csv", encoding="cp1252", newline="") as stream:
        reader = csv.reader(stream, delimiter=";")
        next(reader)
        eleves = [(uai, row[5], row[5], row[0], row[2], row[3]) for row in reader]
    with open(school / "responsables.csv", encoding="cp1252", newline="") as stream:
        reader = csv.reader(stream, delimiter=";")
        next(reader)
        responsables = [
            (uai, None, row[0], row[2], row[3], row[8], row[11]) for row in reader
        ]
    return eleves, responsables


async def copy(connection: asyncpg.Connection, table: str, rows: list) -> None:
    """COPY ``rows`` into ``table`` in batches."""
    for start in range(0, len(rows), BATCH):
        await connection.copy_records_to_table(
            table, records=rows[start : start + BATCH]
        )


if __name__ == "__main__":
    main()
