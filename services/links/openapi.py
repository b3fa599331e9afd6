"""OpenAPI document of the links service's internal API:
``python -m services.links.openapi`` writes docs/openapi/links.json, and
``--check`` exits with status 1 when that file is out of date."""

import sys
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from services.links import api
from shared.documents import render_json, write_or_check

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
    return render_json(build_document())


def main(argv: list[str] | None = None) -> int:
    """Write the document, or with ``--check`` compare it with the file."""
    return write_or_check(DOCUMENT, render(), "python -m services.links.openapi", argv)


if __name__ == "__main__":
    sys.exit(main())
