"""Field values shared by both export formats: dates, INE, codes, blank fields
and text that was encoded twice.

Each function raises ``ValueError`` with a message fit for an
``ImportFileRejected`` reason; the parsers add the file and location.
"""

import re
from datetime import date

from shared.types import validate_ine

_DATE = re.compile(r"(\d{2})/(\d{2})/(\d{4})")

# UTF-8 bytes of an accented letter decoded as Windows-1252 or ISO-8859-15:
# 'é' (C3 A9) reads 'Ã©', 'è' reads 'Ã¨', 'Œ' reads 'Å’'. A lead letter among
# Â Ã Å followed by a character that a UTF-8 continuation byte (0x80-0xBF)
# decodes to is the mark. No French name contains such a pair.
_CONTINUATION = (
    "\u0080-\u00bf"  # Latin-1 supplement, as ISO-8859-1/15 decode 0xA0-0xBF
    "\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc"
    "\u2013\u2014\u2018-\u201e\u2020-\u2022\u2026\u2030\u2039\u203a\u20ac\u2122"
)
_DOUBLE_ENCODED = re.compile(f"[\u00c2\u00c3\u00c5][{_CONTINUATION}]")

DATE_FORMAT_FR = "JJ/MM/AAAA"


class InvalidDate(ValueError):
    """A date that is not a real ``JJ/MM/AAAA`` calendar date."""


def parse_date(value: str) -> date:
    """Parse a ``JJ/MM/AAAA`` (day/month/year) date, the only format both
    sources use: ``03/04/2012`` is 3 April 2012.

    The message is in French, because it reaches the académie's operators.
    """
    match = _DATE.fullmatch(value.strip())
    if match is not None:
        day, month, year = (int(part) for part in match.groups())
        try:
            return date(year, month, day)
        except ValueError:
            pass
    raise InvalidDate(
        f"date impossible « {value.strip()} » : format attendu {DATE_FORMAT_FR} "
        "(jour/mois/année)"
    )


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


def check_code(value: str, known: frozenset[str], column: str) -> str:
    """Return ``value`` when it is one of the ``known`` codes of ``column``."""
    if value not in known:
        raise ValueError(
            f"unknown code {value!r} in {column}: expected one of {sorted(known)}"
        )
    return value


def find_double_encoding(text: str) -> str | None:
    """Return the first pair of characters that shows UTF-8 text decoded as a
    one-byte encoding (``'Ã©'`` for ``'é'``), or None."""
    match = _DOUBLE_ENCODED.search(text)
    return match.group() if match else None


def double_encoding_reason(pair: str) -> str:
    """Return the rejection reason for text containing ``pair``."""
    return (
        f"text looks double-encoded ({pair!r} is how UTF-8 reads when decoded "
        "as Windows-1252 or ISO-8859-15): the file is UTF-8 without a byte order "
        "mark, or its text was converted twice; export it again"
    )


def blank_to_none(value: str | None) -> str | None:
    """Return ``value`` without surrounding blanks, or None when nothing is left."""
    if value is None:
        return None
    stripped = value.strip()
    return stripped or None
