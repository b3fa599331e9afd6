"""Field values shared by both export formats: dates, INE and blank fields.

Each function raises ``ValueError`` with a message fit for an
``ImportFileRejected`` reason; the parsers add the file and location.
"""

import re
from datetime import date

from shared.types import validate_ine

_DATE = re.compile(r"(\d{2})/(\d{2})/(\d{4})")


def parse_date(value: str) -> date:
    """Parse a ``dd/mm/yyyy`` date, the only format both sources use."""
    match = _DATE.fullmatch(value.strip())
    if match is not None:
        day, month, year = (int(part) for part in match.groups())
        try:
            return date(year, month, day)
        except ValueError:
            pass
    raise ValueError(f"invalid date {value!r}: expected format dd/mm/yyyy")


def parse_ine(value: str | None) -> str | None:
    """Return the INE upper-cased, or None when blank.

    The message leaves the value out, because INE values must not reach logs.
    """
    if value is None or not value.strip():
        return None
    try:
        return validate_ine(value)
    except ValueError:
        raise ValueError(
            "invalid INE: expected 10 digits or letters and a check letter"
        ) from None


def blank_to_none(value: str | None) -> str | None:
    """Return ``value`` without surrounding blanks, or None when nothing is left."""
    if value is None:
        return None
    stripped = value.strip()
    return stripped or None
