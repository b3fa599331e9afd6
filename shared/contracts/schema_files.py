"""JSON Schema of each event, generated from the pydantic models and checked
in under ``shared/contracts/schemas/<topic>/<event type>.json``.

``python -m shared.contracts.schema_files`` writes the files, and refuses a
change that would break existing subscribers of a topic (see
``shared.contracts.compatibility``): such a change needs a new topic version,
so a new folder. ``--check`` exits with status 1 when the files are out of
date or when a generated schema breaks a checked-in one.
"""

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from shared.contracts import account_messages, events
from shared.contracts.compatibility import breaking_changes
from shared.contracts.topics import Topic

SCHEMA_DIR = Path(__file__).parent / "schemas"

_LINK_EVENTS = (
    events.LinkProposed,
    events.LinkConfirmed,
    events.LinkRefused,
    events.LinkRefusalWithdrawn,
    events.LinkRemoved,
)

EVENTS_BY_TOPIC: dict[Topic, tuple[type[BaseModel], ...]] = {
    Topic.RESPONSABLES: (events.ResponsableImported, events.ResponsableRemoved),
    Topic.ELEVES: (events.EleveImported, events.EleveRemoved),
    Topic.LINKS: _LINK_EVENTS,
    Topic.LINKS_V1: _LINK_EVENTS,
    Topic.IDENTITY_MESSAGES: (
        account_messages.OneTimeCodeRequested,
        account_messages.EmailVerificationRequested,
        account_messages.PasswordResetRequested,
        account_messages.AccountActivated,
        account_messages.MobileCodeRequested,
    ),
}


def event_type(model: type[BaseModel]) -> str:
    """Return the ``type`` value, also sent as ``ce_type``, of an event model."""
    return model.model_fields["type"].default


def schema_path(topic: Topic, model: type[BaseModel]) -> Path:
    """Return where the schema of ``model`` on ``topic`` is checked in."""
    return SCHEMA_DIR / topic.value / f"{event_type(model)}.json"


def generate() -> dict[Path, dict[str, Any]]:
    """Return the JSON Schema of every event, by the path it is checked in at."""
    schemas = {}
    for topic, models in EVENTS_BY_TOPIC.items():
        for model in models:
            schema = model.model_json_schema()
            schema = {
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "$id": f"urn:educonnect:event:{topic.value}:{event_type(model)}",
                **schema,
            }
            schemas[schema_path(topic, model)] = schema
    return schemas


def render(schema: dict[str, Any]) -> str:
    """Return a schema as it is written to its file."""
    return json.dumps(schema, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def compare() -> tuple[list[str], list[str]]:
    """Compare the generated schemas with the checked-in ones. Returns the
    changes that break existing subscribers, then the files that are missing
    or out of date; two empty lists when they are equal."""
    breaking: list[str] = []
    stale: list[str] = []
    generated = generate()
    for path, schema in generated.items():
        name = path.relative_to(SCHEMA_DIR)
        if not path.exists():
            stale.append(f"{name}: not checked in")
            continue
        checked_in = json.loads(path.read_text(encoding="utf-8"))
        breaking += [
            f"{name}: {change}" for change in breaking_changes(checked_in, schema)
        ]
        if path.read_text(encoding="utf-8") != render(schema):
            stale.append(f"{name}: out of date")
    for path in sorted(SCHEMA_DIR.glob("*/*.json")):
        if path not in generated:
            breaking.append(f"{path.relative_to(SCHEMA_DIR)}: event type removed")
    return breaking, stale


def write() -> list[str]:
    """Write the generated schemas unless one breaks its checked-in version;
    returns the breaking changes found, in which case nothing is written."""
    breaking, _ = compare()
    if breaking:
        return breaking
    for path, schema in generate().items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render(schema), encoding="utf-8")
    return []


def main(argv: list[str] | None = None) -> int:
    """Write the schema files, or with ``--check`` only compare them."""
    parser = argparse.ArgumentParser(prog="python -m shared.contracts.schema_files")
    parser.add_argument(
        "--check",
        action="store_true",
        help="Exit with status 1 when a schema file is out of date or broken.",
    )
    arguments = parser.parse_args(argv)
    if arguments.check:
        breaking, stale = compare()
        found = breaking + stale
    else:
        found = write()
    for problem in found:
        print(problem, file=sys.stderr)
    if found and not arguments.check:
        print(
            "nothing written: these changes break existing subscribers; publish "
            "the new payloads on a new topic version instead",
            file=sys.stderr,
        )
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
