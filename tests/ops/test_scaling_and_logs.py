"""Replicas of links sharing a consumer group, and JSON logs that carry one
correlation id from the importer through links to the notifier.

These tests start a stack of their own (PostgreSQL, Kafka, mail catcher): the
session's stack has links consumers in group "links" that would take a share
of the partitions and of the events.
"""

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer

from shared.contracts import EleveImported, Topic
from shared.contracts.events import EleveLink
from shared.contracts.topics import BATCH_TYPE
from shared.devstack.paths import REPO_ROOT
from shared.devstack.stack import LocalStack
from shared.kafka import key_partition, typed_cloudevent_headers

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SAMPLES = REPO_ROOT.parent / "shared" / "samples"
PUPILS = 6000
# Pupils per message: small, so that a rebalance happens while messages flow.
EVENTS_PER_MESSAGE = 5
RESPONSABLES_PER_PUPIL = 2
WAIT_SECONDS = 180


@pytest.fixture(scope="module")
def ops_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """A stack of this module's own, stopped when its tests end."""
    stack = LocalStack(tmp_path_factory.mktemp("ops-stack"), environment="test")
    stack.start()
    try:
        yield stack
    finally:
        stack.stop()


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {WAIT_SECONDS} s waiting for {what}")
        time.sleep(0.2)


def json_lines(path: Path) -> list[dict]:
    """Return the complete log lines of ``path`` as objects. Fails on a
    line that is not one JSON object."""
    entries = []
    text = path.read_text(encoding="utf-8")
    # A running service may be half-way through writing its last line.
    complete = text[: text.rfind("\n") + 1]
    for number, line in enumerate(complete.splitlines(), 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except json.JSONDecodeError as exc:
            raise AssertionError(f"{path.name}:{number} is not JSON: {line!r}") from exc
        assert isinstance(entry, dict), f"{path.name}:{number} is not an object"
        entries.append(entry)
    return entries


def applied_count(log_path: Path) -> int:
    if not log_path.exists():
        return 0
    text = log_path.read_text(encoding="utf-8", errors="replace")
    return text.count('"import_message_applied"')


def pupil_event(run: str, number: int) -> EleveImported:
    return EleveImported(
        academie="versailles",
        eleve_id=f"ops-{run}-{number:05d}",
        source="siecle",
        source_eleve_id=str(number),
        uai="0999101E",
        classe="6A",
        nom="Eleve",
        prenom=f"Numero{number}",
        date_naissance=date(2014, 1, 1),
        responsables=tuple(
            EleveLink(responsable_id=f"siecle:ops-{run}-{number:05d}-{index}")
            for index in range(RESPONSABLES_PER_PUPIL)
        ),
    )


async def publish_pupils(
    bootstrap_servers: str, events: list[EleveImported]
) -> list[uuid.UUID]:
    """Publish the events as the importer's relay would, in batches of
    ``EVENTS_PER_MESSAGE`` events of one partition; return the batches' ids."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers, acks="all")
    await producer.start()
    try:
        partitions = sorted(await producer.partitions_for(Topic.ELEVES))
        by_partition: dict[int, list[EleveImported]] = {}
        for event in events:
            partition = key_partition(event.eleve_id.encode(), partitions)
            by_partition.setdefault(partition, []).append(event)
        correlation_id = uuid.uuid4().hex
        deliveries = []
        batch_ids = []
        for partition, partition_events in by_partition.items():
            for start in range(0, len(partition_events), EVENTS_PER_MESSAGE):
                batch = partition_events[start : start + EVENTS_PER_MESSAGE]
                headers = typed_cloudevent_headers(
                    BATCH_TYPE,
                    source="tests",
                    subject=batch[0].eleve_id,
                    correlation_id=correlation_id,
                )
                batch_ids.append(uuid.UUID(headers["ce_id"]))
                value = "[" + ",".join(event.model_dump_json() for event in batch) + "]"
                deliveries.append(
                    await producer.send(
                        Topic.ELEVES,
                        value=value.encode(),
                        key=batch[0].eleve_id.encode(),
                        partition=partition,
                        headers=[
                            (name, text.encode()) for name, text in headers.items()
                        ],
                    )
                )
        await asyncio.gather(*deliveries)
    finally:
        await producer.stop()
    return batch_ids


async def fetch(database_url: str, query: str, *args) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(database_url)
    try:
        return await connection.fetch(query, *args)
    finally:
        await connection.close()


def query(stack: LocalStack, sql: str, *args) -> list[asyncpg.Record]:
    return asyncio.run(fetch(stack.database_url, sql, *args))


def count_links(stack: LocalStack, run: str) -> int:
    rows = query(
        stack,
        "SELECT count(*) AS n FROM links.links WHERE eleve_id LIKE $1",
        f"ops-{run}-%",
    )
    return rows[0]["n"]


def run_importer_with_own_log(stack: LocalStack, log_path: Path) -> None:
    """Run the importer on the week-1 samples, its stderr (the logs) alone in
    ``log_path`` so that every line of it must be JSON."""
    with log_path.open("wb") as log:
        completed = subprocess.run(
            [
                sys.executable,
                "-m",
                "services.importer",
                "import",
                "--academie",
                "versailles",
                str(SAMPLES / "siecle" / "week1"),
                str(SAMPLES / "onde" / "week1"),
            ],
            env=stack.process_env("importer"),
            cwd=REPO_ROOT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=log,
            timeout=600,
            check=False,
        )
    assert completed.returncode == 0, log_path.read_text(errors="replace")


def test_json_logs_share_correlation_id(
    ops_stack: LocalStack,
) -> None:
    ops_stack.start_service("links")
    ops_stack.start_service("notifier")
    importer_log = ops_stack.log_dir / "importer-own.log"

    run_importer_with_own_log(ops_stack, importer_log)

    importer_entries = json_lines(importer_log)
    correlation_ids = {
        entry["correlation_id"]
        for entry in importer_entries
        if entry.get("event") == "import_started"
    }
    assert len(correlation_ids) == 1
    (correlation_id,) = correlation_ids

    def handled_by(name: str, event: str) -> list[dict]:
        return [
            entry
            for entry in json_lines(ops_stack.log_path(name))
            if entry.get("event") == event
            and entry.get("correlation_id") == correlation_id
        ]

    wait_until(
        lambda: handled_by("notifier", "link_event_handled"),
        "the notifier to handle a link event of the import",
    )
    links_entries = handled_by("links", "import_message_applied")
    notifier_entries = handled_by("notifier", "link_event_handled")

    assert links_entries
    assert notifier_entries
    assert {entry["service"] for entry in links_entries} == {"links"}
    assert {entry["service"] for entry in notifier_entries} == {"notifier"}
    for entry in links_entries + notifier_entries:
        assert {"topic", "partition", "offset", "message_id"} <= set(entry)
        assert entry["level"] == "info"
        assert entry["timestamp"]


def test_no_topic_not_found_errors(ops_stack: LocalStack) -> None:
    ops_stack.start_service("links")
    ops_stack.start_service("notifier")

    for name in ("links", "notifier"):
        text = ops_stack.log_path(name).read_text(encoding="utf-8", errors="replace")
        assert "not found in cluster metadata" not in text, name


@pytest.mark.parametrize(
    "stop_signal", [signal.SIGTERM, signal.SIGKILL], ids=["terminated", "killed"]
)
def test_rebalance_loses_and_duplicates_nothing(
    ops_stack: LocalStack, stop_signal: signal.Signals
) -> None:
    run = uuid.uuid4().hex[:8]
    events = [pupil_event(run, number) for number in range(PUPILS)]
    expected_links = {
        (event.eleve_id, link.responsable_id)
        for event in events
        for link in event.responsables
    }
    second_log = ops_stack.log_path("links-2")
    ops_stack.start_service("links")
    ops_stack.start_service("links", instance=2)
    applied_before = applied_count(second_log)

    event_ids = asyncio.run(publish_pupils(ops_stack.kafka_bootstrap_servers, events))
    wait_until(
        lambda: applied_count(second_log) > applied_before,
        "the second links instance to apply a message",
    )
    assert count_links(ops_stack, run) < len(expected_links), (
        "every event was applied before the second instance stopped; "
        "raise PUPILS so that the rebalance happens while events flow"
    )
    process = ops_stack.processes["links-2"]
    os.killpg(process.pid, stop_signal)
    ops_stack.stop_service("links", instance=2)

    wait_until(
        lambda: count_links(ops_stack, run) >= len(expected_links),
        f"{len(expected_links)} links of run {run}",
    )
    # Messages that the stopped instance applied without committing their
    # offsets come again to the first one; give it time to drop them.
    time.sleep(2)

    links = query(
        ops_stack,
        "SELECT link_id, eleve_id, responsable_id FROM links.links"
        " WHERE eleve_id LIKE $1",
        f"ops-{run}-%",
    )
    proposed = query(
        ops_stack,
        "SELECT payload->>'link_id' AS link_id, count(*) AS events"
        " FROM links.outbox_events WHERE type = 'link.proposed'"
        " AND payload->>'eleve_id' LIKE $1 GROUP BY 1",
        f"ops-{run}-%",
    )
    processed = query(
        ops_stack,
        "SELECT event_id FROM links.processed_messages"
        " WHERE consumer = 'links.eleves' AND event_id = ANY($1::uuid[])",
        event_ids,
    )

    pairs = [(row["eleve_id"], row["responsable_id"]) for row in links]
    assert len(pairs) == len(expected_links)
    assert set(pairs) == expected_links
    assert {row["link_id"] for row in proposed} == {
        str(row["link_id"]) for row in links
    }
    assert [row for row in proposed if row["events"] != 1] == []
    assert len(processed) == len(event_ids)
