"""AsyncAPI document of the notifier, generated from its FastStream router:
``python -m services.notifier.asyncapi`` writes docs/asyncapi/notifier.json,
and ``--check`` exits with status 1 when that file is out of date."""

import json
import sys
from pathlib import Path
from typing import Any

from faststream.kafka import KafkaBroker
from faststream.specification import AsyncAPI

from services.notifier.consumers import build_router
from services.notifier.directory import load_directory
from shared.documents import render_json, write_or_check

DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "asyncapi" / "notifier.json"

# The broker address as deploy/compose.yaml names it; the document only shows
# it, nothing connects to it.
DOCUMENTED_SERVER = "kafka:9092"


def build_document() -> dict[str, Any]:
    """Return the AsyncAPI 3.0 document of the topics the notifier reads.
    The router's stores are never called while documenting, so none is given."""
    broker = KafkaBroker(DOCUMENTED_SERVER, logger=None)
    broker.include_router(
        build_router(
            queue=None,
            cases=None,
            dead_letters=None,
            directory=load_directory(),
            correction_days=30,
            retry_delay_seconds=1.0,
        )
    )
    specification = AsyncAPI(
        broker,
        title="EduConnect notifier",
        version="1",
        description="Consumes link events and account messages; sends mails.",
        schema_version="3.0.0",
    ).to_specification()
    return json.loads(specification.to_json())


def render() -> str:
    """Return the document as it is checked in."""
    return render_json(build_document())


def main(argv: list[str] | None = None) -> int:
    """Write the document, or with ``--check`` compare it with the file."""
    return write_or_check(
        DOCUMENT, render(), "python -m services.notifier.asyncapi", argv
    )


if __name__ == "__main__":
    sys.exit(main())
