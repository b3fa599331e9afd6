"""Checked-in documents generated from the code (AsyncAPI, OpenAPI): the same
rendering and the same write-or-check command line for each."""

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter


def render_json(document: dict[str, Any]) -> str:
    """Return ``document`` as it is checked in: sorted keys, two-space indent."""
    return json.dumps(document, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def write_or_check(
    path: Path, content: str, program: str, argv: list[str] | None
) -> int:
    """Write ``content`` to ``path``, or with ``--check`` compare them and
    return 1 when the file is missing or out of date."""
    parser = argparse.ArgumentParser(prog=program)
    parser.add_argument(
        "--check",
        action="store_true",
        help="Exit with status 1 when the checked-in document is out of date.",
    )
    arguments = parser.parse_args(argv)
    if arguments.check:
        if not path.exists() or path.read_text(encoding="utf-8") != content:
            print(f"{path} is out of date; run {program}", file=sys.stderr)
            return 1
        return 0
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content, encoding="utf-8")
    return 0


def describe_raw_payloads(
    document: dict[str, Any], name: str, adapter: TypeAdapter
) -> None:
    """Give ``adapter``'s schema, under ``name``, to the messages of an
    AsyncAPI ``document`` whose consumers take the raw message.

    Those consumers read and validate the body themselves, so that an
    unreadable message is logged and skipped instead of redelivered forever.
    FastStream therefore finds no payload type to describe.
    """
    schema = adapter.json_schema(ref_template="#/components/schemas/{model}")
    components = document["components"]
    components["schemas"].update(schema.pop("$defs", {}))
    components["schemas"][name] = schema
    components["schemas"].pop("EmptyPayload", None)
    for message in components["messages"].values():
        if message["payload"] == {"$ref": "#/components/schemas/EmptyPayload"}:
            message["payload"] = {"$ref": f"#/components/schemas/{name}"}
