"""The notifier process: the Kafka subscriber that queues mails, the sender
loop that delivers them, and an HTTP health endpoint, sharing one connection
pool."""

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI
from faststream.kafka import KafkaBroker

from services.notifier.cases import CaseBook, PostgresCaseBook
from services.notifier.consumers import build_router
from services.notifier.dead_letters import PostgresDeadLetterStore
from services.notifier.directory import Directory, load_directory
from services.notifier.mail_queue import PostgresMailQueue
from services.notifier.scheduler import CaseScheduler
from services.notifier.sender import MailSender
from services.notifier.settings import Settings
from services.notifier.smtp import SmtpTransport
from shared.db import create_pool
from shared.logging import get_logger
from shared.observability import (
    broker_check,
    consumer_lag_refresher,
    database_check,
    instrument_app,
    observability_router,
)

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

    instrument_app(app)
    app.include_router(
        observability_router(
            checks={
                "database": database_check(lambda: app.state.pool),
                "broker": broker_check(lambda: app.state.broker),
            },
            refreshers=[
                consumer_lag_refresher(
                    settings.kafka_bootstrap_servers, [settings.kafka_group_id]
                )
            ],
        )
    )

    return app


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    directory: Directory = app.state.directory
    pool = await create_pool(settings.database_url, SCHEMA)
    app.state.pool = pool
    queue = PostgresMailQueue(pool)
    sender = MailSender(
        queue,
        _transport(settings),
        sender=settings.sender,
        poll_interval_seconds=settings.poll_interval_seconds,
        retry_initial_delay_seconds=settings.retry_initial_delay_seconds,
        retry_max_delay_seconds=settings.retry_max_delay_seconds,
        retry_max_age_seconds=settings.retry_max_age_seconds,
        delay_alert_after_seconds=settings.delivery_alert_after_seconds,
    )
    cases = PostgresCaseBook(pool)
    scheduler = build_scheduler(settings, cases, directory, sender.wake)
    broker = KafkaBroker(settings.kafka_bootstrap_servers, logger=None)
    app.state.broker = broker
    broker.include_router(
        build_router(
            queue=queue,
            cases=cases,
            dead_letters=PostgresDeadLetterStore(pool),
            directory=directory,
            correction_days=settings.correction_days,
            retry_delay_seconds=settings.consumer_retry_delay_seconds,
            group_id=settings.kafka_group_id,
            on_mail_queued=sender.wake,
            sms_gateway_domain=settings.sms_gateway_domain,
        )
    )

    sender.start()
    scheduler.start()
    try:
        await broker.start()
        logger.info("notifier_started", academies=len(directory))
        yield
    finally:
        # The broker stops first so no mail is queued behind the sender's back;
        # the sender then finishes the mail it is sending.
        await broker.stop()
        await scheduler.stop()
        await sender.stop()
        await pool.close()
        logger.info("notifier_stopped")


def build_scheduler(
    settings: Settings,
    cases: CaseBook,
    directory: Directory,
    on_mail_queued: Callable[[], None] = lambda: None,
) -> CaseScheduler:
    """Build the case scheduler from the settings."""
    return CaseScheduler(
        cases,
        directory,
        reminder_days=settings.reminder_days,
        digest_hour=settings.digest_hour,
        interval_seconds=settings.case_tick_interval_seconds,
        on_mail_queued=on_mail_queued,
    )


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
