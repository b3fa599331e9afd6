"""Health, readiness and Prometheus metrics of a service, and a clear exit on
invalid settings.

Each daemon mounts ``observability_router`` and calls ``instrument_app``:

- ``GET /healthz`` returns 200 while the process serves requests (liveness).
- ``GET /readyz`` runs the readiness checks (a ``SELECT 1`` on the pool, a
  metadata request to the Kafka broker), each with a short timeout, and
  returns 503 naming the checks that failed (readiness).
- ``GET /metrics`` runs the registered gauge refreshers (outbox backlog,
  consumer lag), then returns every metric of the process in the Prometheus
  text format.

Graceful shutdown is uvicorn's: on SIGTERM it stops accepting connections,
waits for the requests in flight, then runs the application's lifespan exit,
where each service stops its Kafka consumers (committing what they handled)
before its outbox relay and pool. A pod therefore needs a termination grace
period longer than its longest request plus that exit.
"""

import asyncio
import sys
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, NoReturn, TypeVar

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from pydantic import ValidationError
from pydantic_settings import BaseSettings

from shared.logging import (
    accepted_correlation_id,
    correlation_id_var,
    get_logger,
    new_correlation_id,
)

logger = get_logger(__name__)

CORRELATION_HTTP_HEADER = "X-Correlation-ID"
EXIT_INVALID_SETTINGS = 2

ReadinessCheck = Callable[[], Awaitable[None]]
"""A coroutine function that returns when a dependency is usable and raises
otherwise."""

GaugeRefresher = Callable[[], Awaitable[None]]
"""A coroutine function that sets gauges from the database or the broker."""

HTTP_REQUESTS = Counter(
    "http_requests_total",
    "HTTP requests handled, by method, route template and status code.",
    ["method", "route", "status"],
)
HTTP_REQUEST_DURATION = Histogram(
    "http_request_duration_seconds",
    "Time from receiving an HTTP request to the end of its response headers.",
    ["method", "route"],
)
CONSUMER_LAG = Gauge(
    "kafka_consumer_lag_messages",
    "Messages of a partition not yet committed by a consumer group.",
    ["group", "topic", "partition"],
)
OUTBOX_BACKLOG = Gauge(
    "outbox_backlog_events",
    "Outbox rows not yet published to Kafka, by schema.",
    ["schema"],
)
# The importer is a job that exits before any scrape, so it writes this
# counter to IMPORTER_METRICS_PATH for the node exporter's textfile collector.
IMPORT_ROWS = Counter(
    "import_rows_total",
    "Records of school exports imported, by source, record kind and change.",
    ["source", "kind", "change"],
)
MAILS_SENT = Counter(
    "mails_sent_total",
    "Mails accepted by the SMTP relay.",
)
MAILS_PARKED = Counter(
    "mails_parked_total",
    "Mails whose automatic delivery stopped until an operator resends them.",
)


def count_import_rows(source: str, kind: str, change: str, rows: int) -> None:
    """Add ``rows`` records of one kind and change to the import counter, for
    example ``count_import_rows("SIECLE", "eleve", "added", 120)``."""
    IMPORT_ROWS.labels(source=source, kind=kind, change=change).inc(rows)


def count_mail_sent() -> None:
    """Count one mail accepted by the SMTP relay."""
    MAILS_SENT.inc()


def count_mail_parked() -> None:
    """Count one mail parked for an operator."""
    MAILS_PARKED.inc()


async def _error_of(check: ReadinessCheck, seconds: float) -> str | None:
    try:
        async with asyncio.timeout(seconds):
            await check()
    except TimeoutError:
        return f"timed out after {seconds:g} s"
    except Exception as exc:
        return repr(exc)
    return None


def observability_router(
    *,
    checks: Mapping[str, ReadinessCheck],
    refreshers: Iterable[GaugeRefresher] = (),
    check_timeout_seconds: float = 2.0,
    registry: CollectorRegistry = REGISTRY,
) -> APIRouter:
    """Return the router of ``/healthz``, ``/readyz`` and ``/metrics``.

    ``checks`` names the dependencies that ``/readyz`` checks concurrently,
    each within ``check_timeout_seconds``. ``refreshers`` run before each
    ``/metrics`` response within the same timeout. A refresher that fails
    leaves its gauges at their previous values.
    """
    router = APIRouter(include_in_schema=False)
    refreshers = tuple(refreshers)

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        """Return 200 while the process serves requests."""
        return {"status": "ok"}

    @router.get("/readyz")
    async def readyz() -> JSONResponse:
        """Return 200 when every dependency responds, otherwise 503 with the
        error of each failed check."""
        names = list(checks)
        errors = await asyncio.gather(
            *(_error_of(checks[name], check_timeout_seconds) for name in names)
        )
        failed = {
            name: error for name, error in zip(names, errors, strict=True) if error
        }
        if failed:
            logger.warning(
                "readiness_check_failed",
                failed=failed,
                remedy="check that the database and the broker are reachable",
            )
            return JSONResponse(
                {"status": "unavailable", "failed": failed}, status_code=503
            )
        return JSONResponse({"status": "ready", "checks": names})

    @router.get("/metrics")
    async def metrics() -> Response:
        """Refresh the gauges, then return every metric in the Prometheus text
        format."""
        errors = await asyncio.gather(
            *(_error_of(refresh, check_timeout_seconds) for refresh in refreshers)
        )
        for error in filter(None, errors):
            logger.warning("metrics_refresh_failed", error=error)
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return router


def database_check(pool: Callable[[], asyncpg.Pool]) -> ReadinessCheck:
    """Return a check that runs ``SELECT 1`` on the pool that ``pool()``
    returns once the application has started."""

    async def check() -> None:
        async with pool().acquire() as connection:
            await connection.fetchval("SELECT 1")

    return check


def broker_check(
    broker: Callable[[], Any], timeout_seconds: float = 1.5
) -> ReadinessCheck:
    """Return a check that sends a metadata request through a started
    FastStream Kafka broker (``broker().ping``)."""

    async def check() -> None:
        if not await broker().ping(timeout_seconds):
            raise ConnectionError(
                f"Kafka broker sent no metadata within {timeout_seconds:g} s"
            )

    return check


def outbox_backlog_refresher(
    pool: Callable[[], asyncpg.Pool], schema: str
) -> GaugeRefresher:
    """Return a refresher that counts the unpublished events of the pool's
    schema's outbox, a grouped row counting its events, into
    ``outbox_backlog_events{schema=...}``."""

    async def refresh() -> None:
        async with pool().acquire() as connection:
            backlog = await connection.fetchval(
                "SELECT coalesce(sum(message_count), 0) FROM outbox"
                " WHERE published_at IS NULL"
            )
        OUTBOX_BACKLOG.labels(schema=schema).set(backlog)

    return refresh


def consumer_lag_refresher(
    bootstrap_servers: str, groups: Iterable[str]
) -> GaugeRefresher:
    """Return a refresher that sets ``kafka_consumer_lag_messages`` for each
    partition that ``groups`` have committed offsets on: the partition's end
    offset minus the group's committed offset. Each call opens and closes its
    own admin client and consumer, so it keeps no connection open between scrapes."""
    groups = tuple(groups)

    async def refresh() -> None:
        admin = AIOKafkaAdminClient(
            bootstrap_servers=bootstrap_servers, request_timeout_ms=2000
        )
        consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap_servers,
            enable_auto_commit=False,
            request_timeout_ms=2000,
        )
        await admin.start()
        try:
            await consumer.start()
            try:
                for group in groups:
                    committed = await admin.list_consumer_group_offsets(group)
                    await _set_lag(consumer, group, committed)
            finally:
                await consumer.stop()
        finally:
            await admin.close()

    return refresh


async def _set_lag(
    consumer: AIOKafkaConsumer, group: str, committed: Mapping[TopicPartition, Any]
) -> None:
    partitions = [tp for tp, offset in committed.items() if offset.offset >= 0]
    if not partitions:
        return
    ends = await consumer.end_offsets(partitions)
    for tp in partitions:
        CONSUMER_LAG.labels(
            group=group, topic=tp.topic, partition=str(tp.partition)
        ).set(max(0, ends[tp] - committed[tp].offset))


def instrument_app(app: FastAPI) -> None:
    """Count and time every HTTP request by route template, and bind the
    request's correlation id (``X-Correlation-ID``, or a new one) to the logs
    and the events it causes. The response carries the id back in the same
    header."""

    @app.middleware("http")
    async def observe(request: Request, call_next) -> Response:
        """Bind the correlation id, then count and time the request."""
        correlation_id = (
            accepted_correlation_id(request.headers.get(CORRELATION_HTTP_HEADER))
            or new_correlation_id()
        )
        token = correlation_id_var.set(correlation_id)
        started = time.perf_counter()
        status = 500
        try:
            response = await call_next(request)
            status = response.status_code
            response.headers.setdefault(CORRELATION_HTTP_HEADER, correlation_id)
            return response
        finally:
            route = _route_template(request)
            HTTP_REQUEST_DURATION.labels(request.method, route).observe(
                time.perf_counter() - started
            )
            HTTP_REQUESTS.labels(request.method, route, str(status)).inc()
            correlation_id_var.reset(token)


def _route_template(request: Request) -> str:
    # The template ("/links/{eleve_id}") rather than the path keeps one time
    # series per route; unmatched paths share one label.
    route = request.scope.get("route")
    return getattr(route, "path", None) or "unmatched"


SettingsT = TypeVar("SettingsT", bound=BaseSettings)


def load_settings_or_exit(settings_class: type[SettingsT]) -> SettingsT:
    """Return ``settings_class()`` read from the environment, or print one line
    per invalid variable to stderr and exit with status 2.

    Lines name the environment variable and the rule it broke, never the
    value, so that a secret is not printed.
    """
    try:
        return settings_class()
    except ValidationError as exc:
        for line in settings_error_lines(settings_class, exc):
            print(line, file=sys.stderr)
        _exit_invalid_settings()


def settings_error_lines(
    settings_class: type[BaseSettings], error: ValidationError
) -> list[str]:
    """Return one ``error: VARIABLE: message`` line per error of ``error``."""
    prefix = str(settings_class.model_config.get("env_prefix", "")).upper()
    lines = []
    for item in error.errors(include_input=False, include_url=False):
        fields = [str(part) for part in item["loc"]]
        variable = prefix + fields[0].upper() if fields else f"{prefix}*"
        where = ".".join(fields[1:])
        message = item["msg"].removeprefix("Value error, ")
        detail = f" ({where})" if where else ""
        lines.append(f"error: {variable}{detail}: {message}")
    lines.append(
        f"error: invalid settings, {len(lines)} error(s); set the variables "
        "above and start again"
    )
    return lines


def _exit_invalid_settings() -> NoReturn:
    raise SystemExit(EXIT_INVALID_SETTINGS)
