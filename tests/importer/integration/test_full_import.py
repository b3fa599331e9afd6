"""Full imports of the sample exports against the session's PostgreSQL and
Kafka; the outbox table shows what each run published."""

import asyncio
import io
import json
import os
import shutil
import sys
from collections import Counter
from pathlib import Path

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from services.importer.__main__ import EXIT_OK, EXIT_REJECTED, run_import
from services.importer.onde import read_onde_school
from services.importer.settings import ImporterSettings
from shared.contracts import Topic
from shared.contracts.topics import BATCH_TYPE
from shared.kafka import key_partition

from ..factories import (
    eleve,
    eleves_xml,
    link,
    personne,
    responsables_xml,
    structure,
    write_siecle,
)
from ..samples import SAMPLES, school_folder, truth, week_changes

pytestmark = pytest.mark.integration

ACADEMIE = "versailles"
REPO_ROOT = Path(__file__).resolve().parents[3]


def week(name: str) -> list[Path]:
    return [SAMPLES / "siecle" / name, SAMPLES / "onde" / name]


@pytest.fixture
def settings(fresh_database_url, local_stack) -> ImporterSettings:
    return ImporterSettings(
        database_url=fresh_database_url,
        kafka_bootstrap_servers=local_stack.kafka_bootstrap_servers,
        environment="test",
    )


async def run(
    settings: ImporterSettings, folders: list[Path], *, dry_run: bool = False
) -> tuple[int, str]:
    out = io.StringIO()
    code = await run_import(
        settings, academie=ACADEMIE, folders=folders, dry_run=dry_run, out=out
    )
    return code, out.getvalue()


async def fetch(settings: ImporterSettings, query: str, *args) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(settings.database_url)
    try:
        return await connection.fetch(query, *args)
    finally:
        await connection.close()


async def outbox(settings: ImporterSettings, after_id: int = 0) -> list[dict]:
    rows = await fetch(
        settings,
        "SELECT id, event_id, topic, key, type, payload::text AS payload,"
        " published_at FROM importer.outbox_events WHERE id > $1"
        " ORDER BY id, position",
        after_id,
    )
    return [{**dict(row), "payload": json.loads(row["payload"])} for row in rows]


def of_type(rows: list[dict], event_type: str) -> dict[str, dict]:
    return {row["key"]: row["payload"] for row in rows if row["type"] == event_type}


def legal_guardians(week_name: str, uai_prefix: str) -> set:
    """Return the legal guardians of enrolled pupils in the truth: PERSONNE_IDs
    for SIECLE, (school, label) for ONDE, whose adults have no id."""
    guardians = set()
    for pupil in truth(week_name)["pupils"]:
        if pupil["left"] or not pupil["uai"].startswith(uai_prefix):
            continue
        for link_ in pupil["links"]:
            if not link_["legal_guardian"]:
                continue
            if uai_prefix == "09991":
                guardians.add(link_["guardian_personne_id"])
            else:
                guardians.add((pupil["uai"], link_["guardian"]))
    return guardians


async def test_week1_publishes_every_pupil_and_responsable(settings):
    code, output = await run(settings, week("week1"))

    rows = await outbox(settings)
    counts = Counter((row["payload"]["source"], row["type"]) for row in rows)
    enrolled = Counter(
        "siecle" if p["uai"].startswith("09991") else "onde"
        for p in truth("week1")["pupils"]
        if not p["left"]
    )
    assert code == EXIT_OK
    assert counts == {
        ("siecle", "eleve.imported"): enrolled["siecle"],
        ("onde", "eleve.imported"): enrolled["onde"],
        ("siecle", "responsable.imported"): len(legal_guardians("week1", "09991")),
        ("onde", "responsable.imported"): len(legal_guardians("week1", "09992")),
    }
    assert all(row["published_at"] is not None for row in rows)
    assert "total 4 schools: eleves added 71 changed 0 removed 0" in output


async def test_responsables_are_enqueued_before_their_pupils(settings):
    await run(settings, week("week1"))

    rows = await outbox(settings)
    position = {
        row["key"]: row["id"] for row in rows if row["topic"] == Topic.RESPONSABLES
    }
    for row in rows:
        if row["type"] != "eleve.imported":
            continue
        for link_ in row["payload"]["responsables"]:
            assert position[link_["responsable_id"]] < row["id"]


async def test_same_files_again_publish_nothing(settings):
    await run(settings, week("week1"))
    (last,) = await fetch(settings, "SELECT max(id) AS id FROM importer.outbox")

    code, output = await run(settings, week("week1"))

    assert code == EXIT_OK
    assert await outbox(settings, last["id"]) == []
    assert "total 4 schools: eleves added 0 changed 0 removed 0, " in output


async def test_week2_publishes_exactly_the_weekly_changes(settings):
    await run(settings, week("week1"))
    (last,) = await fetch(settings, "SELECT max(id) AS id FROM importer.outbox")
    expected = week_changes()
    (moved,) = expected["moved_1d_to_2d"]

    code, _ = await run(settings, week("week2"))

    rows = await outbox(settings, last["id"])
    removed = of_type(rows, "eleve.removed")
    imported = of_type(rows, "eleve.imported")
    assert code == EXIT_OK
    assert {(k, p["source"], p["uai"]) for k, p in removed.items()} == {
        *((left["ine"], "siecle", left["uai"]) for left in expected["left"]),
        (moved["ine"], "onde", moved["from_uai"]),
    }
    arrived = {a["ine"] for a in expected["arrived"]} | {moved["ine"]}
    (relinked,) = {change["ine"] for change in expected["link_removed"]}
    assert imported.keys() == arrived | {relinked}
    assert imported[moved["ine"]]["uai"] == moved["to_uai"]
    assert {
        link_["responsable_id"] for link_ in imported[moved["ine"]]["responsables"]
    } == {f"siecle:{id_}" for id_ in moved["guardian_personne_ids"]}


async def test_week2_relinks_pupil_9900000014R(settings):
    await run(settings, week("week1"))
    (last,) = await fetch(settings, "SELECT max(id) AS id FROM importer.outbox")
    (removed,) = week_changes()["link_removed"]
    (added,) = week_changes()["link_added"]

    await run(settings, week("week2"))

    pupil = of_type(await outbox(settings, last["id"]), "eleve.imported")["9900000014R"]
    links = {link_["responsable_id"]: link_ for link_ in pupil["responsables"]}
    assert f"siecle:{removed['personne_id']}" not in links
    assert links[f"siecle:{added['personne_id']}"]["code_parente"] == "39"


async def test_week2_publishes_responsable_changes(settings):
    await run(settings, week("week1"))
    (last,) = await fetch(settings, "SELECT max(id) AS id FROM importer.outbox")
    (email_change,) = week_changes()["email_changed"]
    theo = read_onde_school(
        *(
            school_folder("onde", "week1", "0999202P") / name
            for name in ("eleves.csv", "responsables.csv")
        ),
        uai="0999202P",
    )
    theo_guardians = {
        link_.responsable_id
        for pupil in theo.eleves
        if pupil.ine == "9900000015Z"
        for link_ in pupil.responsables
    }

    await run(settings, week("week2"))

    rows = await outbox(settings, last["id"])
    imported = of_type(rows, "responsable.imported")
    siecle_before = legal_guardians("week1", "09991")
    siecle_after = legal_guardians("week2", "09991")
    assert imported.keys() == {
        f"siecle:{id_}"
        for id_ in (siecle_after - siecle_before) | {email_change["personne_id"]}
    }
    assert (
        imported[f"siecle:{email_change['personne_id']}"]["email"]
        == (email_change["new"])
    )
    assert of_type(rows, "responsable.removed").keys() == {
        *(f"siecle:{id_}" for id_ in siecle_before - siecle_after),
        *theo_guardians,
    }


def school_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith(("siecle", "onde"))]


async def test_dry_run_writes_and_publishes_nothing(settings):
    code, output = await run(settings, week("week1"), dry_run=True)

    assert code == EXIT_OK
    assert "\ndry run, nothing written or published: total 4 schools" in output
    assert "eleves added 71" in output
    assert "import 1: dry_run, eleve added 71; responsable added 116" in output
    assert await outbox(settings) == []
    assert await fetch(settings, "SELECT 1 FROM importer.snapshot_eleves") == []


async def test_dry_run_counts_what_a_real_run_changes(settings):
    await run(settings, week("week1"))

    _, dry = await run(settings, week("week2"), dry_run=True)
    _, real = await run(settings, week("week2"))

    assert school_lines(dry) == school_lines(real)


async def test_rejected_file_applies_nothing_of_the_run(settings, tmp_path):
    drop = tmp_path / "week1"
    shutil.copytree(SAMPLES / "siecle" / "week1", drop)
    broken = drop / "0999102F" / "ElevesSansAdresses.xml"
    broken.write_bytes(broken.read_bytes().replace(b"11/02/2011", b"31/02/2011"))

    code, output = await run(settings, [drop])

    assert code == EXIT_REJECTED
    assert output == "import 1: rejected, nothing applied\n"
    assert await outbox(settings) == []


async def test_shared_responsable_removed_with_last_school(settings, tmp_path):
    # These small schools lose most of their pupils, which a hold would stop.
    settings = settings.model_copy(update={"hold_share": 1.0})
    pupils = {
        "0999101E": ("4300001", "9900000001W"),
        "0999102F": ("4300002", "9900000002E"),
    }

    def drop(name: str, enrolled: dict[str, bool]) -> list[Path]:
        # One mother with a child in each school; a school whose child left
        # still lists her link, as SIECLE does until the next year.
        folders = []
        for uai, is_enrolled in enrolled.items():
            eleve_id, ine = pupils[uai]
            folder = tmp_path / name / uai
            write_siecle(
                folder,
                eleves=eleves_xml(
                    pupils=eleve(eleve_id, ine) if is_enrolled else "",
                    structures=structure(eleve_id, "5A") if is_enrolled else "",
                    uaj=uai,
                ),
                responsables=responsables_xml(
                    personnes=personne("7100010"),
                    links=link(eleve_id, "7100010"),
                    uaj=uai,
                ),
            )
            folders.append(folder)
        return folders

    await run(settings, drop("both", {"0999101E": True, "0999102F": True}))
    await run(settings, drop("first_left", {"0999101E": False}))
    after_first = of_type(await outbox(settings), "responsable.removed")
    await run(settings, drop("second_left", {"0999102F": False}))
    after_second = of_type(await outbox(settings), "responsable.removed")

    assert after_first == {}
    assert after_second.keys() == {"siecle:7100010"}


async def test_pupil_moving_between_schools_keeps_responsable(settings, tmp_path):
    # These small schools lose most of their pupils, which a hold would stop.
    settings = settings.model_copy(update={"hold_share": 1.0})

    def drop(name: str, school_of_moving_pupil: str) -> Path:
        # Each school has a pupil of its own; the moving pupil and his mother
        # are in one of them.
        for uai, eleve_id, ine in (
            ("0999101E", "4300001", "9900000001W"),
            ("0999102F", "4300002", "9900000002E"),
        ):
            pupils, structures = eleve(eleve_id, ine), structure(eleve_id, "5A")
            links = ""
            if uai == school_of_moving_pupil:
                pupils += eleve("4300003", "9900000003N")
                structures += structure("4300003", "4A")
                links = link("4300003", "7100010")
            write_siecle(
                tmp_path / name / uai,
                eleves=eleves_xml(pupils=pupils, structures=structures, uaj=uai),
                responsables=responsables_xml(
                    personnes=personne("7100010"), links=links, uaj=uai
                ),
            )
        return tmp_path / name

    await run(settings, [drop("before", "0999101E")])
    (last,) = await fetch(settings, "SELECT max(id) AS id FROM importer.outbox")
    await run(settings, [drop("after", "0999102F")])

    rows = await outbox(settings, last["id"])
    assert [(row["type"], row["key"]) for row in rows] == [
        ("eleve.removed", "9900000003N"),
        ("eleve.imported", "9900000003N"),
    ]


async def test_published_events_reach_kafka_in_batches(settings, local_stack):
    servers = local_stack.kafka_bootstrap_servers
    admin = AIOKafkaAdminClient(bootstrap_servers=servers)
    await admin.start()
    try:
        described = await admin.describe_topics([Topic.RESPONSABLES, Topic.ELEVES])
    finally:
        await admin.close()
    partitions = {
        topic["topic"]: sorted(p["partition"] for p in topic["partitions"])
        for topic in described
    }
    consumer = AIOKafkaConsumer(bootstrap_servers=servers, enable_auto_commit=False)
    await consumer.start()
    messages = []
    try:
        # Other tests publish on the same topics: read from their ends.
        consumer.assign(
            [TopicPartition(t, p) for t, numbers in partitions.items() for p in numbers]
        )
        await consumer.seek_to_end()
        for assigned in consumer.assignment():
            await consumer.position(assigned)

        await run(settings, [SAMPLES / "siecle" / "week1" / "0999102F"])
        rows = await outbox(settings)
        async with asyncio.timeout(60):
            while sum(len(json.loads(m.value)) for m in messages) < len(rows):
                batch = await consumer.getmany(timeout_ms=1000)
                for records in batch.values():
                    messages.extend(records)
    finally:
        await consumer.stop()
    expected = {
        topic: [(row["key"], row["payload"]) for row in rows if row["topic"] == topic]
        for topic in (Topic.RESPONSABLES, Topic.ELEVES)
    }

    received: dict[str, list] = {topic: [] for topic in expected}
    for message in messages:
        headers = dict(message.headers)
        events = json.loads(message.value)
        keys = [
            event.get("eleve_id") or event.get("responsable_id") for event in events
        ]
        assert headers["ce_type"] == BATCH_TYPE.encode()
        assert message.key == keys[0].encode()
        assert {
            key_partition(key.encode(), partitions[message.topic]) for key in keys
        } == {message.partition}
        received[message.topic].extend(zip(keys, events, strict=True))
    assert len(messages) < len(rows)
    for topic, events in expected.items():
        # Each key's events in the order of the outbox, whichever partition.
        assert sorted(received[topic], key=lambda pair: pair[0]) == sorted(
            events, key=lambda pair: pair[0]
        )


async def run_command_line(settings: ImporterSettings, *arguments: str):
    env = {
        **os.environ,
        "IMPORTER_DATABASE_URL": settings.database_url,
        "IMPORTER_KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
        "IMPORTER_ENVIRONMENT": "test",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "services.importer",
        "import",
        "--academie",
        ACADEMIE,
        *arguments,
        cwd=REPO_ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(120):
        stdout, stderr = await process.communicate()
    return process.returncode, stdout.decode(), stderr.decode()


async def test_command_line_prints_one_line_per_school(settings):
    code, stdout, stderr = await run_command_line(
        settings, "--dry-run", *map(str, week("week1"))
    )

    lines = stdout.splitlines()
    assert code == EXIT_OK, stderr
    assert lines[0].startswith("siecle 0999101E: eleves added 22 ")
    assert len(school_lines(stdout)) == 4
    assert lines[4].startswith("dry run, nothing written or published: total 4")


async def test_command_line_exits_2_on_rejected_folder(settings, tmp_path):
    code, stdout, stderr = await run_command_line(settings, str(tmp_path))

    assert code == EXIT_REJECTED
    assert "contains no school folder" in stderr
