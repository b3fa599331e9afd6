"""Health, readiness, metrics and settings errors of shared.observability, on
a tiny FastAPI app with hand-written fakes of the pool and the broker."""

import asyncio
from contextlib import asynccontextmanager

import httpx
import pytest
from fastapi import FastAPI
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.logging import correlation_id_var
from shared.observability import (
    broker_check,
    count_import_rows,
    database_check,
    instrument_app,
    load_settings_or_exit,
    observability_router,
    outbox_backlog_refresher,
)


class FakeConnection:
    def __init__(self, value: object = 1, error: Exception | None = None) -> None:
        self.value = value
        self.error = error
        self.queries: list[str] = []

    async def fetchval(self, query: str) -> object:
        self.queries.append(query)
        if self.error is not None:
            raise self.error
        return self.value


class FakePool:
    def __init__(self, connection: FakeConnection) -> None:
        self.connection = connection

    @asynccontextmanager
    async def acquire(self):
        yield self.connection


class FakeBroker:
    def __init__(self, reachable: bool) -> None:
        self.reachable = reachable

    async def ping(self, timeout: float) -> bool:  # noqa: ASYNC109 (FastStream's signature)
        return self.reachable


def build_app(**router_options) -> FastAPI:
    app = FastAPI()
    instrument_app(app)
    app.include_router(observability_router(**router_options))

    @app.get("/items/{item_id}")
    async def item(item_id: int) -> dict[str, object]:
        return {"item_id": item_id, "correlation_id": correlation_id_var.get()}

    return app


def client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://service.test"
    )


async def test_healthz_returns_ok_without_checks() -> None:
    async def never_ready() -> None:
        raise ConnectionError("database down")

    async with client(build_app(checks={"database": never_ready})) as http:
        response = await http.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_ready_when_database_and_broker_respond() -> None:
    connection = FakeConnection()
    checks = {
        "database": database_check(lambda: FakePool(connection)),
        "broker": broker_check(lambda: FakeBroker(reachable=True)),
    }
    async with client(build_app(checks=checks)) as http:
        response = await http.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": ["database", "broker"]}
    assert connection.queries == ["SELECT 1"]


async def test_readyz_names_each_failed_check() -> None:
    failing = FakeConnection(error=OSError("connection refused"))
    checks = {
        "database": database_check(lambda: FakePool(failing)),
        "broker": broker_check(lambda: FakeBroker(reachable=False)),
    }
    async with client(build_app(checks=checks)) as http:
        response = await http.get("/readyz")

    assert response.status_code == 503
    failed = response.json()["failed"]
    assert "connection refused" in failed["database"]
    assert "no metadata" in failed["broker"]


async def test_readyz_times_out_a_hanging_check() -> None:
    async def hangs() -> None:
        await asyncio.sleep(60)

    app = build_app(checks={"broker": hangs}, check_timeout_seconds=0.05)
    async with client(app) as http:
        response = await http.get("/readyz")

    assert response.status_code == 503
    assert response.json()["failed"] == {"broker": "timed out after 0.05 s"}


async def test_metrics_count_requests_by_route_template() -> None:
    async with client(build_app(checks={})) as http:
        await http.get("/items/41")
        await http.get("/items/42")
        await http.get("/items/not-a-number")
        response = await http.get("/metrics")

    text = response.text
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert (
        'http_requests_total{method="GET",route="/items/{item_id}",status="200"}'
        in (text)
    )
    assert 'route="/items/{item_id}",status="422"' in text
    assert (
        'http_request_duration_seconds_count{method="GET",route="/items/{item_id}"}'
        in (text)
    )
    assert "/items/41" not in text


async def test_metrics_refresh_outbox_backlog() -> None:
    pool = FakePool(FakeConnection(value=7))
    app = build_app(
        checks={}, refreshers=[outbox_backlog_refresher(lambda: pool, "links")]
    )
    async with client(app) as http:
        response = await http.get("/metrics")

    assert 'outbox_backlog_events{schema="links"} 7.0' in response.text


async def test_metrics_survive_a_failing_refresher() -> None:
    async def broken() -> None:
        raise ConnectionError("broker down")

    count_import_rows("SIECLE", "eleve", "added", 3)
    async with client(build_app(checks={}, refreshers=[broken])) as http:
        response = await http.get("/metrics")

    assert response.status_code == 200
    assert (
        'import_rows_total{change="added",kind="eleve",source="SIECLE"}'
        in response.text
    )


async def test_correlation_id_from_header_is_bound_and_returned() -> None:
    async with client(build_app(checks={})) as http:
        response = await http.get(
            "/items/1", headers={"X-Correlation-ID": "corr-from-identity"}
        )

    assert response.json()["correlation_id"] == "corr-from-identity"
    assert response.headers["X-Correlation-ID"] == "corr-from-identity"


async def test_correlation_id_generated_when_header_missing() -> None:
    async with client(build_app(checks={})) as http:
        response = await http.get("/items/1")

    generated = response.json()["correlation_id"]
    assert generated
    assert response.headers["X-Correlation-ID"] == generated


class ExampleSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="EXAMPLE_", frozen=True)

    database_url: str
    http_port: int = Field(default=8000, ge=1, le=65535)
    token: str = Field(min_length=16)


def test_settings_errors_one_line_per_variable(monkeypatch, capsys) -> None:
    monkeypatch.delenv("EXAMPLE_DATABASE_URL", raising=False)
    monkeypatch.setenv("EXAMPLE_HTTP_PORT", "99999")
    monkeypatch.setenv("EXAMPLE_TOKEN", "short-secret")

    with pytest.raises(SystemExit) as exit_info:
        load_settings_or_exit(ExampleSettings)

    assert exit_info.value.code == 2
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == "error: EXAMPLE_DATABASE_URL: Field required"
    assert lines[1].startswith("error: EXAMPLE_HTTP_PORT: Input should be less")
    assert lines[2].startswith("error: EXAMPLE_TOKEN: String should have at least 16")
    assert "3 error(s)" in lines[3]
    assert len(lines) == 4


def test_settings_errors_never_print_the_value(monkeypatch, capsys) -> None:
    monkeypatch.setenv("EXAMPLE_DATABASE_URL", "postgresql://db/x")
    monkeypatch.setenv("EXAMPLE_TOKEN", "tooshort-Secret")

    with pytest.raises(SystemExit):
        load_settings_or_exit(ExampleSettings)

    assert "tooshort-Secret" not in capsys.readouterr().err


def test_valid_settings_are_returned(monkeypatch) -> None:
    monkeypatch.setenv("EXAMPLE_DATABASE_URL", "postgresql://db/x")
    monkeypatch.setenv("EXAMPLE_TOKEN", "a-token-of-enough-length")

    settings = load_settings_or_exit(ExampleSettings)

    assert settings.http_port == 8000
