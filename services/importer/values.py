"""Field values shared by both export formats: dates, INE, codes, blank fields
and text that was encoded twice.

Each function raises ``ValueError`` with a message fit for an
``ImportFileRejected`` reason; the parsers add the file and location.
"""

import re
from collections.abc import Sequence
from datetime import date
from operator import le

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

# Control characters (C0, DEL and C1) except tab; no name, e-mail or phone
# number contains one, and PostgreSQL refuses NUL in text.
_CONTROL = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f]")

DATE_FORMAT_FR = "JJ/MM/AAAA"

# Maximum length of a field, in characters. A longer value is a broken
# export, and a record carrying it would be rejected by the broker. The name
# limit is an estimate well above real names. An e-mail address is at most
# 254 characters (the path limit of RFC 5321). ONDE class labels name the
# teacher, so they get the length of a name. Any other field (addresses,
# labels) gets MAX_OTHER.
MAX_NAME = 100
MAX_EMAIL = 254
MAX_PHONE = 32
MAX_CLASS_LABEL = 100
MAX_DIVISION = 50
MAX_ID = 32
MAX_OTHER = 500


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


def double_encoding_reason(
    pair: str,
    cause: str = "the file is UTF-8 without a byte order mark, "
    "or its text was converted twice",
) -> str:
    """Return the rejection reason for text containing ``pair``. ``cause``
    names what the file most likely is."""
    return (
        f"text looks double-encoded ({pair!r} is how UTF-8 reads when decoded "
        f"as Windows-1252 or ISO-8859-15): {cause}; export it again"
    )


def check_text(value: str, field: str, max_length: int) -> None:
    """Raise ``ValueError`` when ``value`` is longer than ``max_length``
    characters or contains a control character other than tab.

    The message names ``field`` and leaves the value out, because it may be
    a person's name.
    """
    if len(value) > max_length:
        raise ValueError(
            f"{field} is {len(value)} characters long, more than the "
            f"{max_length} allowed; correct it in the source application"
        )
    match = _CONTROL.search(value)
    if match is not None:
        raise ValueError(
            f"{field} contains the control character "
            f"U+{ord(match.group()):04X} at position {match.start() + 1}; "
            "correct it in the source application"
        )


def texts_pass(values: Sequence[str], max_lengths: Sequence[int] = ()) -> bool:
    """Return True when no value contains a control character other than tab
    or a double-encoded pair, nor is longer than its limit in
    ``max_lengths`` (when given, one per value).

    Then ``check_text`` and ``find_double_encoding`` pass on each value, and
    on each value stripped, so a whole record is checked with two searches
    at most. False does not mean a value is wrong: the caller checks each value then,
    to name the one that failed.
    """
    if max_lengths:
        if len(max_lengths) != len(values):
            raise ValueError(
                f"{len(max_lengths)} length limits for {len(values)} values"
            )
        if not all(map(le, map(len, values), max_lengths)):
            return False
    # A space is neither a control character nor part of a double-encoded
    # pair, so no match can span two values.
    joined = " ".join(values)
    # Printable ASCII contains neither, so most records pass without a search,
    # in a third of the time.
    if joined.isascii() and joined.isprintable():
        return True
    return _CONTROL.search(joined) is None and _DOUBLE_ENCODED.search(joined) is None


def blank_to_none(value: str | None) -> str | None:
    """Return ``value`` without surrounding blanks, or None when nothing is left."""
    if value is None:
        return None
    stripped = value.strip()
    return stripped or None
