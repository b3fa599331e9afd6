"""Event contracts shared by the services: topic names, payload models and
the CloudEvents-style headers every message carries."""

from shared.contracts.events import (
    EleveImported,
    EleveRemoved,
    ImportBatch,
    ImportEvent,
    LinkBatch,
    LinkConfirmed,
    LinkEvent,
    LinkProposed,
    LinkRefusalWithdrawn,
    LinkRefused,
    LinkRemoved,
    ResponsableImported,
    ResponsableRemoved,
)
from shared.contracts.topics import Topic

__all__ = [
    "EleveImported",
    "EleveRemoved",
    "ImportBatch",
    "ImportEvent",
    "LinkBatch",
    "LinkConfirmed",
    "LinkEvent",
    "LinkProposed",
    "LinkRefusalWithdrawn",
    "LinkRefused",
    "LinkRemoved",
    "ResponsableImported",
    "ResponsableRemoved",
    "Topic",
]
