"""The sample exports kept beside the repository, and the truth files that
list what an importer should end up with."""

import json
from functools import cache
from pathlib import Path
from typing import Any

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "samples"
SIECLE_SCHOOLS = ("0999101E", "0999102F")
ONDE_SCHOOLS = ("0999201N", "0999202P")
WEEKS = ("week1", "week2")


def school_folder(source: str, week: str, uai: str) -> Path:
    """Return the folder of one school's sample export."""
    return SAMPLES / source / week / uai


@cache
def truth(week: str) -> dict[str, Any]:
    """Return ``expected/<week>_truth.json``."""
    return json.loads((SAMPLES / "expected" / f"{week}_truth.json").read_text())


@cache
def week_changes() -> dict[str, Any]:
    """Return ``expected/week1_to_week2_changes.json``."""
    path = SAMPLES / "expected" / "week1_to_week2_changes.json"
    return json.loads(path.read_text())


def truth_pupils(week: str, uai: str) -> list[dict[str, Any]]:
    """Return the truth's pupils of one school, those who left included."""
    return [pupil for pupil in truth(week)["pupils"] if pupil["uai"] == uai]
