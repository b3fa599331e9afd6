"""AsyncAPI document of the identity service, generated from its FastStream
broker: ``python -m services.identity.asyncapi`` writes
docs/asyncapi/identity.json, and ``--check`` exits with status 1 when that
file is out of date."""

import json
import sys
from pathlib import Path
from typing import Any

from faststream.kafka import KafkaBroker
from faststream.specification import AsyncAPI
from pydantic import TypeAdapter

from services.identity.consumers import register_consumers
from shared.contracts import ImportBatch
from shared.documents import describe_raw_payloads, render_json, write_or_check

DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "asyncapi" / "identity.json"

# The broker address as deploy/compose.yaml names it; the document only shows
# it, nothing connects to it.
DOCUMENTED_SERVER = "kafka:9092"


def _no_pool() -> None:
    raise RuntimeError("the documentation broker has no connection pool")


def build_document() -> dict[str, Any]:
    """Return the AsyncAPI 3.0 document of the topics identity reads."""
    broker = KafkaBroker(DOCUMENTED_SERVER, logger=None)
    register_consumers(broker, _no_pool)
    document = json.loads(
        AsyncAPI(
            broker,
            title="EduConnect identity",
            version="1",
            description="Consumes the importer's responsables and pupils to "
            "provision their accounts.",
            schema_version="3.0.0",
        )
        .to_specification()
        .to_json()
    )
    describe_raw_payloads(document, "ImportBatch", TypeAdapter(ImportBatch))
    return document


def render() -> str:
    """Return the document as it is checked in."""
    return render_json(build_document())


def main(argv: list[str] | None = None) -> int:
    """Write the document, or with ``--check`` compare it with the file."""
    return write_or_check(
        DOCUMENT, render(), "python -m services.identity.asyncapi", argv
    )


if __name__ == "__main__":
    sys.exit(main())
