"""Pupil accounts as the importer's pupils create, refresh and remove them,
and the pupils' notices, against a real PostgreSQL."""

import asyncio
import uuid
from datetime import date
from pathlib import Path
from unittest.mock import Mock

import asyncpg
import pytest
import structlog
from faststream.kafka import KafkaBroker, TestKafkaBroker

from services.identity import pupils
from services.identity.consumers import (
    provision_pupils,
    provision_responsables,
    register_consumers,
)
from services.identity.notices import pending_notices, pending_pupil_notices
from services.identity.passwords import check_provisional_password
from shared.contracts import Topic
from shared.contracts.events import EleveImported, EleveRemoved, ResponsableImported
from shared.contracts.topics import BATCH_TYPE
from shared.db import SHARED_MIGRATIONS, apply_migrations, create_pool
from shared.kafka import typed_cloudevent_headers

pytestmark = [pytest.mark.integration]

MIGRATIONS = Path(pupils.__file__).parent / "migrations"
SECRET = "secret-des-notices-de-test"


@pytest.fixture
async def pool(fresh_database_url):
    await apply_migrations(
        fresh_database_url, "identity", SHARED_MIGRATIONS, MIGRATIONS
    )
    pool = await create_pool(fresh_database_url, "identity", min_size=1, max_size=2)
    yield pool
    await pool.close()


def imported(eleve_id="9900000015Z", **changes) -> EleveImported:
    fields = {
        "academie": "versailles",
        "eleve_id": eleve_id,
        "source": "onde",
        "uai": "0999202P",
        "classe": "CM2 A",
        "nom": "LEFÈVRE-MORIN",
        "prenom": "Théo",
        "date_naissance": date(2015, 5, 2),
    } | changes
    return EleveImported(**fields)


def removed(eleve_id="9900000015Z", source="onde", uai="0999202P") -> EleveRemoved:
    return EleveRemoved(
        academie="versailles", eleve_id=eleve_id, source=source, uai=uai
    )


async def provision(pool, event) -> bool:
    async with pool.acquire() as connection, connection.transaction():
        return await pupils.provision_pupil_account(connection, event)


async def remove(pool, event) -> bool:
    async with pool.acquire() as connection, connection.transaction():
        return await pupils.mark_pupil_removed(connection, event)


async def account_of(pool, eleve_id) -> asyncpg.Record:
    return await pool.fetchrow("SELECT * FROM accounts WHERE eleve_id = $1", eleve_id)


async def school(pool, eleve_id) -> pupils.School | None:
    account = await account_of(pool, eleve_id)
    async with pool.acquire() as connection:
        return await pupils.school_of(connection, account["account_id"])


async def test_new_pupil_gets_an_eleve_account(pool):
    created = await provision(pool, imported())

    account = await account_of(pool, "9900000015Z")
    assert created is True
    assert account["kind"] == "eleve"
    assert account["responsable_id"] is None
    assert account["identifiant"] == "t.lefevremorin1"
    assert account["activated_at"] is None
    assert await school(pool, "9900000015Z") == pupils.School(
        source="onde", uai="0999202P", classe="CM2 A", removed=False
    )


async def test_usage_name_gives_the_identifiant(pool):
    await provision(
        pool,
        imported(
            "9900000003N",
            source="siecle",
            uai="0999101E",
            nom="D'AMBROSIO DE LA FONTAINE-ROCHE",
            nom_usage="D'AMBROSIO",
            prenom="Lætitia",
        ),
    )

    account = await account_of(pool, "9900000003N")
    assert account["identifiant"] == "l.dambrosio1"
    assert account["nom"] == "D'AMBROSIO"


async def test_homonyms_get_the_lowest_free_numbers(pool):
    await pool.execute(
        "INSERT INTO accounts (account_id, identifiant, responsable_id, academie,"
        " civilite, nom, prenom) VALUES (gen_random_uuid(), 'm.guerin1',"
        " 'siecle:1', 'versailles', 'M.', 'GUÉRIN', 'Marc')"
    )

    await provision(pool, imported("9900000010F", nom="GUÉRIN", prenom="Maël"))
    await provision(pool, imported("9900000016H", nom="GUÉRIN", prenom="Maël"))

    first = await account_of(pool, "9900000010F")
    second = await account_of(pool, "9900000016H")
    assert first["identifiant"] == "m.guerin2"
    assert second["identifiant"] == "m.guerin3"


async def test_reimport_refreshes_name_and_school(pool):
    await provision(pool, imported())
    before = await account_of(pool, "9900000015Z")

    created = await provision(
        pool,
        imported(source="siecle", uai="0999102F", classe="6EME1", prenom="Théodore"),
    )

    after = await account_of(pool, "9900000015Z")
    assert created is False
    assert after["account_id"] == before["account_id"]
    assert after["identifiant"] == before["identifiant"]
    assert after["prenom"] == "Théodore"
    assert await school(pool, "9900000015Z") == pupils.School(
        source="siecle", uai="0999102F", classe="6EME1", removed=False
    )


async def test_removed_pupil_keeps_its_account(pool):
    await provision(pool, imported())

    marked = await remove(pool, removed())

    assert marked is True
    assert await account_of(pool, "9900000015Z") is not None
    assert (await school(pool, "9900000015Z")).removed is True


async def test_removal_from_a_former_school_is_ignored(pool):
    # A CM2 pupil imported into a collège before its école's export drops it.
    await provision(pool, imported())
    await provision(pool, imported(source="siecle", uai="0999102F", classe="6EME1"))

    marked = await remove(pool, removed(source="onde", uai="0999202P"))

    assert marked is False
    assert (await school(pool, "9900000015Z")).removed is False


async def test_reimport_after_removal_enrols_again(pool):
    await provision(pool, imported())
    await remove(pool, removed())

    await provision(pool, imported(classe="CM2 B"))

    assert await school(pool, "9900000015Z") == pupils.School(
        source="onde", uai="0999202P", classe="CM2 B", removed=False
    )


async def test_pupil_notice_opens_the_account(pool):
    await provision(pool, imported())
    account = await account_of(pool, "9900000015Z")

    notices = await pending_pupil_notices(pool, SECRET, limit=10)

    assert [notice.eleve_id for notice in notices] == ["9900000015Z"]
    notice = notices[0]
    assert notice.identifiant == "t.lefevremorin1"
    assert (notice.uai, notice.classe) == ("0999202P", "CM2 A")
    assert check_provisional_password(
        SECRET, account["account_id"], notice.provisional_password
    )


async def test_pupil_notices_leave_out_removed_and_activated(pool):
    await provision(pool, imported("9900000015Z"))
    await provision(pool, imported("9900000059H", nom="MOREL", prenom="Salomé"))
    await provision(pool, imported("9900000060Y", nom="CHEVALIER", prenom="François"))
    await remove(pool, removed("9900000059H"))
    account = await account_of(pool, "9900000060Y")
    async with pool.acquire() as connection:
        await pupils.activate_pupil_account(
            connection, account["account_id"], "$argon2id$fictif"
        )

    notices = await pending_pupil_notices(pool, SECRET, limit=10)

    assert [notice.eleve_id for notice in notices] == ["9900000015Z"]


async def test_responsable_notices_leave_out_pupils(pool):
    await provision(pool, imported())

    assert await pending_notices(pool, SECRET, limit=10) == []


async def test_activation_happens_once(pool):
    await provision(pool, imported())
    account = await account_of(pool, "9900000015Z")

    async with pool.acquire() as connection:
        first = await pupils.activate_pupil_account(
            connection, account["account_id"], "$argon2id$premier"
        )
        second = await pupils.activate_pupil_account(
            connection, account["account_id"], "$argon2id$second"
        )

    assert first is True
    assert second is False
    assert (await account_of(pool, "9900000015Z"))["password_hash"] == (
        "$argon2id$premier"
    )


@pytest.fixture
async def broker(pool, local_stack):
    # TestKafkaBroker replaces the broker's connection with an in-memory one.
    # The stack's own address is given all the same, so that nothing outside
    # the test session could be reached.
    broker = KafkaBroker(local_stack.kafka_bootstrap_servers, logger=None)
    register_consumers(broker, lambda: pool)
    async with TestKafkaBroker(broker) as test_broker:
        yield test_broker


async def publish(broker, events, event_id: uuid.UUID) -> None:
    """Publish a batch of ``events``, or one event alone, as the importer's
    relay would."""
    batch = events if isinstance(events, list) else [events]
    headers = typed_cloudevent_headers(
        BATCH_TYPE,
        source="educonnect/importer",
        subject=batch[0].eleve_id,
        correlation_id="test-correlation",
        event_id=event_id,
    )
    await broker.publish(
        ("[" + ",".join(event.model_dump_json() for event in batch) + "]").encode(),
        Topic.ELEVES,
        key=batch[0].eleve_id.encode(),
        headers=headers,
    )


async def test_consumer_provisions_then_marks_removed(pool, broker):
    await publish(broker, imported(), uuid.uuid4())
    account = await account_of(pool, "9900000015Z")
    assert account["kind"] == "eleve"
    assert (await school(pool, "9900000015Z")).removed is False

    await publish(broker, removed(), uuid.uuid4())

    assert (await school(pool, "9900000015Z")).removed is True


async def test_batch_pupils_apply_in_order(pool, broker):
    await publish(
        broker,
        [
            imported(),
            imported(eleve_id="9900000016A", prenom="Inès"),
            removed(),
        ],
        uuid.uuid4(),
    )

    assert (await school(pool, "9900000015Z")).removed is True
    assert (await school(pool, "9900000016A")).removed is False
    count = await pool.fetchval("SELECT count(*) FROM accounts WHERE kind = 'eleve'")
    assert count == 2


async def test_consumer_applies_a_redelivered_pupil_once(pool, broker):
    event_id = uuid.uuid4()
    await publish(broker, imported(), event_id)

    await publish(broker, imported(classe="CM2 B"), event_id)

    assert (await school(pool, "9900000015Z")).classe == "CM2 A"
    count = await pool.fetchval("SELECT count(*) FROM accounts WHERE kind = 'eleve'")
    assert count == 1


# Family names shared by the two batches below, which give the same stems.
SHARED_NAMES = ["MARTIN", "BERNARD", "DUBOIS", "THOMAS", "ROBERT", "PETIT"]


def responsable(responsable_id: str, nom: str) -> ResponsableImported:
    return ResponsableImported(
        academie="versailles",
        responsable_id=responsable_id,
        source="siecle",
        civilite="MME",
        nom=nom,
        prenom="Anne",
    )


async def apply_concurrently(pool, provision, *batches) -> list:
    """Apply each batch with ``provision`` in a transaction of its own, all
    at the same time; return their outcomes."""

    async def apply_batch(events):
        async with pool.acquire() as connection, connection.transaction():
            return await provision(connection, events)

    return await asyncio.gather(*map(apply_batch, batches))


async def test_batches_sharing_names_in_opposite_orders_both_apply(pool):
    # Each batch takes the stems in its own order: without one order for the
    # locks, each transaction waits for a stem the other holds.
    first = [responsable(f"siecle:a{n}", nom) for n, nom in enumerate(SHARED_NAMES)]
    second = [
        responsable(f"siecle:b{n}", nom) for n, nom in enumerate(reversed(SHARED_NAMES))
    ]

    outcomes = await apply_concurrently(pool, provision_responsables, first, second)

    assert [outcome["account_provisioned"] for outcome in outcomes] == [6, 6]
    identifiants = await pool.fetch(
        "SELECT identifiant FROM accounts WHERE kind = 'responsable'"
    )
    assert sorted(row["identifiant"] for row in identifiants) == sorted(
        f"a.{nom.lower()}{number}" for nom in SHARED_NAMES for number in (1, 2)
    )


async def test_pupil_batches_sharing_names_both_apply(pool):
    first, second = (
        [
            imported(eleve_id=f"9900000{batch}{n:02d}A", nom=nom, prenom="Anne")
            for n, nom in enumerate(names)
        ]
        for batch, names in ((1, SHARED_NAMES), (2, reversed(SHARED_NAMES)))
    )

    outcomes = await apply_concurrently(pool, provision_pupils, first, second)

    assert [outcome["pupil_account_provisioned"] for outcome in outcomes] == [6, 6]


async def test_failed_batch_is_logged_then_raised(local_stack):
    broker = KafkaBroker(local_stack.kafka_bootstrap_servers, logger=None)
    unreachable = Mock(acquire=Mock(side_effect=OSError("connection refused")))
    register_consumers(broker, lambda: unreachable)

    with structlog.testing.capture_logs() as logs:
        async with TestKafkaBroker(broker) as test_broker:
            with pytest.raises(OSError):
                await publish(test_broker, [imported(), removed()], uuid.uuid4())

    failures = [entry for entry in logs if entry["event"] == "import_message_failed"]
    assert len(failures) == 1
    assert failures[0]["events"] == 2
    assert "connection refused" in failures[0]["error"]
