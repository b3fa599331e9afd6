"""The notifier process: the Kafka subscriber that queues mails, the sender
loop that delivers them, and an HTTP health endpoint, sharing one connection
pool."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from faststream.kafka import KafkaBroker

from services.notifier.consumers import build_router
from services.notifier.dead_letters import PostgresDeadLetterStore
from services.notifier.directory import Directory, load_directory
from services.notifier.mail_queue import PostgresMailQueue
from services.notifier.sender import MailSender
from services.notifier.settings import Settings
from services.notifier.smtp import SmtpTransport
from shared.db import create_pool
from shared.logging import get_logger

logger = get_logger(__name__)

SCHEMA = "notifier"


def create_app(settings: Settings) -> FastAPI:
    """Build the application. The académie directory is read now, so a broken
    file fails before serving; connections open when the lifespan starts."""
    app = FastAPI(
        title="EduConnect notifier",
        lifespan=_lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.settings = settings
    app.state.directory = load_directory(settings.directory_path)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        """Report that the process is up and serving."""
        return {"status": "ok"}

    return app


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    directory: Directory = app.state.directory
    pool = await create_pool(settings.database_url, SCHEMA)
    queue = PostgresMailQueue(pool)
    sender = MailSender(
        queue,
        _transport(settings),
        sender=settings.sender,
        poll_interval_seconds=settings.poll_interval_seconds,
        retry_initial_delay_seconds=settings.retry_initial_delay_seconds,
        retry_max_delay_seconds=settings.retry_max_delay_seconds,
    )
    broker = KafkaBroker(settings.kafka_bootstrap_servers, logger=None)
    broker.include_router(
        build_router(
            queue=queue,
            dead_letters=PostgresDeadLetterStore(pool),
            directory=directory,
            correction_days=settings.correction_days,
            retry_delay_seconds=settings.consumer_retry_delay_seconds,
            group_id=settings.kafka_group_id,
            on_mail_queued=sender.wake,
        )
    )

    sender.start()
    try:
        await broker.start()
        logger.info("notifier_started", academies=len(directory))
        yield
    finally:
        # The broker stops first so no mail is queued behind the sender's back;
        # the sender then finishes the mail it is sending.
        await broker.stop()
        await sender.stop()
        await pool.close()
        logger.info("notifier_stopped")


def _transport(settings: Settings) -> SmtpTransport:
    password = settings.smtp_password
    return SmtpTransport(
        settings.smtp_host,
        settings.smtp_port,
        starttls=settings.smtp_starttls,
        username=settings.smtp_username,
        password=password.get_secret_value() if password is not None else None,
        helo_hostname=settings.smtp_helo_hostname,
        timeout_seconds=settings.smtp_timeout_seconds,
    )
