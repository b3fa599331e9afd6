"""The 1D and 2D depots where académies drop their exports.

Below a root folder, ONDE drops go to ``educonnect1d/ect-sync/depot_racine/``
and SIECLE drops to ``educonnect2d/ect-sync2d/depot_racine/``. A drop is a
folder named

    <SOURCE>_<ACADEMIE>_<FULL|DELTA>_<YYYYMMDD>[_<HHMMSS>]

for example ``ONDE_versailles_FULL_20261207`` or
``SIECLE_orleans-tours_DELTA_20261208_0630``: the source (ONDE or SIECLE,
matching the depot), the académie code of the plan, whether it is a full
export or a delta, and the export date. It contains the school folders named
by UAI that ``sources.find_school_folders`` reads. Names are compared
without regard to case. A producer writes the drop under a name starting
with ``.`` or ending with ``.part`` and renames it when complete; such names
are skipped.

Each drop is imported, then moved with a ``<name>.report.txt`` to ``done/``
(applied), ``rejected/`` (unreadable drop or file, or a name that does not
follow the scheme) or ``held/`` (a full import held for an operator). A drop
whose import failed otherwise (database down) stays in place for the next
scan.
"""

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from services.importer.plan import Plan

DEPOTS = {
    "onde": Path("educonnect1d/ect-sync/depot_racine"),
    "siecle": Path("educonnect2d/ect-sync2d/depot_racine"),
}
OUTCOME_FOLDERS = ("done", "rejected", "held")

_DROP_NAME = re.compile(
    r"(?P<source>onde|siecle)_(?P<academie>[a-z0-9]+(?:-[a-z0-9]+)*)_"
    r"(?P<kind>full|delta)_(?P<date>\d{8})(?:_(?P<time>\d{4}|\d{6}))?",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Drop:
    """One recognised drop in a depot."""

    path: Path
    source: str
    academie: str
    kind: str
    exported: datetime


@dataclass(frozen=True, slots=True)
class UnrecognisedDrop:
    """An entry of a depot that is not a drop the importer can read, and why."""

    path: Path
    reason: str


def depot_folders(root: Path) -> dict[str, Path]:
    """Return the depot folder of each source below ``root``."""
    return {source: root / relative for source, relative in DEPOTS.items()}


def find_drops(root: Path, plan: Plan) -> Iterator[Drop | UnrecognisedDrop]:
    """Yield the drops waiting in the depots below ``root``, oldest export
    first in each depot, 2D before 1D."""
    for source in ("siecle", "onde"):
        folder = depot_folders(root)[source]
        if not folder.is_dir():
            continue
        entries = [
            entry
            for entry in folder.iterdir()
            if entry.name not in OUTCOME_FOLDERS
            and not entry.name.startswith(".")
            and not entry.name.endswith(".part")
        ]
        found = [recognise(entry, source, plan) for entry in entries]
        found.sort(
            key=lambda drop: (
                isinstance(drop, Drop),
                drop.exported if isinstance(drop, Drop) else datetime.min,
                drop.path.name,
            )
        )
        yield from found


def recognise(entry: Path, source: str, plan: Plan) -> Drop | UnrecognisedDrop:
    """Recognise a depot entry from its name; ``source`` is the depot's."""
    match = _DROP_NAME.fullmatch(entry.name)
    if not entry.is_dir() or match is None:
        return UnrecognisedDrop(
            entry,
            f"{entry.name!r} is not a drop folder named "
            "<SOURCE>_<ACADEMIE>_<FULL|DELTA>_<YYYYMMDD>[_<HHMMSS>], for example "
            f"{source.upper()}_versailles_FULL_20261207",
        )
    if match["source"].lower() != source:
        return UnrecognisedDrop(
            entry,
            f"{match['source'].upper()} drop in the {source.upper()} depot: "
            f"drop it in {DEPOTS[match['source'].lower()]}",
        )
    academie = match["academie"].lower()
    if academie not in plan.day_of:
        return UnrecognisedDrop(
            entry, f"unknown académie {academie!r}: not in the weekly plan"
        )
    kind = match["kind"].lower()
    if source == "onde" and kind == "delta" and academie not in plan.delta_1d:
        return UnrecognisedDrop(
            entry,
            f"1D deltas are off for {academie!r}: send a full export, or add the "
            "académie to [delta_1d] of the plan",
        )
    try:
        exported = _exported(match["date"], match["time"])
    except ValueError:
        return UnrecognisedDrop(
            entry, f"invalid date {match['date']!r} in {entry.name!r}: YYYYMMDD"
        )
    return Drop(entry, source, academie, kind, exported)


def move_with_report(
    entry: Path, outcome: str, report: str, *, depot: Path | None = None
) -> Path:
    """Move a depot entry to the ``outcome`` folder of ``depot`` (by default
    the folder containing it) with its report as ``<name>.report.txt``;
    return the new path. An entry of the same name already there gets a
    numbered suffix."""
    target_folder = (depot or entry.parent) / outcome
    target_folder.mkdir(exist_ok=True)
    target = target_folder / entry.name
    number = 1
    while target.exists():
        number += 1
        target = target_folder / f"{entry.name}.{number}"
    shutil.move(entry, target)
    (target_folder / f"{target.name}.report.txt").write_text(report, encoding="utf-8")
    return target


def is_due(drop: Drop, plan: Plan, weekday: str) -> bool:
    """Return whether the scheduler imports ``drop`` on ``weekday``: deltas
    any day, full exports on their académie's day."""
    return drop.kind == "delta" or plan.day_of[drop.academie] == weekday


def _exported(day: str, time_of_day: str | None) -> datetime:
    parsed = date(int(day[:4]), int(day[4:6]), int(day[6:]))
    hour = minute = second = 0
    if time_of_day:
        hour, minute = int(time_of_day[:2]), int(time_of_day[2:4])
        second = int(time_of_day[4:6]) if len(time_of_day) == 6 else 0
    return datetime(parsed.year, parsed.month, parsed.day, hour, minute, second)


def held_drop_depot(folder: Path) -> Path | None:
    """Return the depot of a drop that waits in its ``held/`` folder, else None."""
    if folder.parent.name == "held" and folder.parent.parent.name == "depot_racine":
        return folder.parent.parent
    return None
