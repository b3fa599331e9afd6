"""Structured JSON logs with a correlation id bound for the whole request or
message being handled."""

import logging
import re
import sys
import uuid
from contextvars import ContextVar

import structlog

correlation_id_var: ContextVar[str | None] = ContextVar("correlation_id", default=None)


# Correlation ids come from clients and are logged and stored: only short,
# plain values are kept, so that a client cannot forge or pad audit entries.
_CORRELATION_ID_PATTERN = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def accepted_correlation_id(value: str | None) -> str | None:
    """Return ``value`` when it is a plausible correlation id (at most 64
    letters, digits, dots, dashes or underscores), else None."""
    if value and _CORRELATION_ID_PATTERN.match(value):
        return value
    return None


def new_correlation_id() -> str:
    """Return a fresh correlation id for work that did not come with one."""
    return uuid.uuid4().hex


def _add_correlation_id(_logger, _method, event_dict):
    event_dict.setdefault("correlation_id", correlation_id_var.get())
    return event_dict


def configure_logging(service: str, level: str = "INFO") -> None:
    """Send every log line of the process, ours and libraries', to stderr as
    one JSON object per line carrying the service name and correlation id."""
    shared_processors = [
        structlog.contextvars.merge_contextvars,
        _add_correlation_id,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.CallsiteParameterAdder(
            {structlog.processors.CallsiteParameter.MODULE}
        ),
    ]
    structlog.configure(
        processors=[
            # Drops a line below the level before any other work is done on it.
            structlog.stdlib.filter_by_level,
            *shared_processors,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared_processors,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(ensure_ascii=False),
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    structlog.contextvars.bind_contextvars(service=service)
    # aiokafka logs every coordinator hiccup at ERROR while it retries them.
    logging.getLogger("aiokafka").setLevel(max(logging.WARNING, root.level))


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    """Return the structured logger of a module."""
    return structlog.get_logger(name)
