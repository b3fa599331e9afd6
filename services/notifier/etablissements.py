"""School names by UAI, for the mails to the data teams."""

import tomllib
from functools import cache
from pathlib import Path

from shared.types import validate_uai

SHIPPED_FILE = Path(__file__).parent / "etablissements.toml"


@cache
def load_school_names(path: Path = SHIPPED_FILE) -> dict[str, str]:
    """Return the school names of ``path`` by UAI, or raise ValueError naming
    the first entry that is not a UAI with a non-empty name."""
    with path.open("rb") as file:
        entries = tomllib.load(file)
    names = {}
    for uai, name in entries.items():
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"{path}: school {uai!r} has no name")
        names[validate_uai(uai)] = name.strip()
    return names


def school_name(uai: str) -> str | None:
    """Return the name of the school ``uai``, or None when it is not listed.

    NOTE: only the shipped file is read; a deployment replaces the file
    itself, because no setting points at another one yet.
    """
    return load_school_names().get(uai)
