import asyncpg
import pytest

from shared.devstack.postgres import PostgresCluster
from shared.devstack.processes import port_accepts

pytestmark = pytest.mark.integration


async def test_postgres_serves_educonnect_database(devstack):
    connection = await asyncpg.connect(devstack.database_url)
    try:
        row = await connection.fetchrow(
            "SELECT current_database() AS database, "
            "host(inet_server_addr()) AS address, "
            "current_setting('server_encoding') AS encoding, "
            "current_setting('fsync') AS fsync"
        )
    finally:
        await connection.close()

    assert row["database"] == "educonnect"
    assert row["address"] == "127.0.0.1"
    assert row["encoding"] == "UTF8"
    assert row["fsync"] == "off"


async def test_postgres_dsn_names_other_database(devstack):
    connection = await asyncpg.connect(devstack.postgres.dsn("postgres"))
    try:
        database = await connection.fetchval("SELECT current_database()")
    finally:
        await connection.close()

    assert database == "postgres"


def test_postgres_stop_frees_port_and_data(tmp_path):
    cluster = PostgresCluster(tmp_path).start()
    data_dir = cluster._data_dir()
    assert port_accepts(cluster.port)

    cluster.stop()
    cluster.stop()

    assert not port_accepts(cluster.port)
    assert not data_dir.exists()
    assert "database system is ready" in cluster.log_path.read_text()
