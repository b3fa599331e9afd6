"""OpenAPI document of the links service's internal API:
``python -m services.links.openapi`` writes docs/openapi/links.json, and
``--check`` exits with status 1 when that file is out of date."""

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from services.links import api

DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "openapi" / "links.json"
TITLE = "EduConnect links (internal)"
VERSION = "1"


def build_document() -> dict[str, Any]:
    """Return the OpenAPI document of the routes in ``services.links.api``."""
    app = FastAPI(title=TITLE, version=VERSION, description=api.__doc__)
    app.include_router(api.router)
    return app.openapi()


def render() -> str:
    """Return the document as it is checked in."""
    return (
        json.dumps(build_document(), indent=2, ensure_ascii=False, sort_keys=True)
        + "\n"
    )


def main(argv: list[str] | None = None) -> int:
    """Write the document, or with ``--check`` compare it with the file."""
    parser = argparse.ArgumentParser(prog="python -m services.links.openapi")
    parser.add_argument(
        "--check",
        action="store_true",
        help="Exit with status 1 when the checked-in document is out of date.",
    )
    arguments = parser.parse_args(argv)
    expected = render()
    if arguments.check:
        if not DOCUMENT.exists() or DOCUMENT.read_text(encoding="utf-8") != expected:
            print(
                f"{DOCUMENT} is out of date; run python -m services.links.openapi",
                file=sys.stderr,
            )
            return 1
        return 0
    DOCUMENT.parent.mkdir(parents=True, exist_ok=True)
    DOCUMENT.write_text(expected, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
