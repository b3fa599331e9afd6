"""The weekly plan of full imports and the 1D-delta switch, read from a TOML
file (``plan.toml`` beside this module by default)."""

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

WEEKDAYS = (
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
)
_SLUG = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")


class PlanInvalid(ValueError):
    """A plan file that cannot be used: unknown day, bad or repeated code."""


@dataclass(frozen=True, slots=True)
class Plan:
    """The weekday of each académie's full import, and the académies whose
    1D deltas are applied."""

    day_of: dict[str, str]
    delta_1d: frozenset[str]

    def academies_on(self, weekday: str) -> list[str]:
        """Return the académies whose full import is on ``weekday``."""
        return [code for code, day in self.day_of.items() if day == weekday]


def load_plan(path: Path) -> Plan:
    """Read and check a plan file; raises ``PlanInvalid``."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise PlanInvalid(f"cannot read plan {path}: {exc}") from None

    day_of: dict[str, str] = {}
    for day, codes in data.get("days", {}).items():
        if day not in WEEKDAYS:
            raise PlanInvalid(
                f"{path}: unknown day {day!r}, expected one of {WEEKDAYS}"
            )
        for code in codes:
            _check_code(code, path)
            if code in day_of:
                raise PlanInvalid(
                    f"{path}: académie {code!r} planned on {day_of[code]} and {day}"
                )
            day_of[code] = day

    delta_1d = frozenset(data.get("delta_1d", {}).get("academies", []))
    unknown = sorted(delta_1d - day_of.keys())
    if unknown:
        raise PlanInvalid(f"{path}: delta_1d names académies not planned: {unknown}")
    return Plan(day_of=day_of, delta_1d=delta_1d)


def _check_code(code: object, path: Path) -> None:
    if not isinstance(code, str) or not _SLUG.fullmatch(code):
        raise PlanInvalid(
            f"{path}: invalid académie code {code!r}: expected a lower-case slug "
            "such as 'orleans-tours'"
        )
