"""Validated identifiers of the French education system, used by every service.

UAI (unité administrative immatriculée) identifies a school: seven digits, or
three digits + 'A' or 'B' + three digits for Corsica, and a check letter. INE
(identifiant national élève) identifies a pupil for the whole of schooling:
eleven characters, ten digits or letters and a check letter. The sample and
synthetic data use non-existent ranges (département 099, INE starting with 99),
so only the shape is checked here, not the check letter.
"""

import re
from typing import Annotated

from pydantic import AfterValidator

_UAI_PATTERN = re.compile(r"^[0-9]{3}[0-9AB][0-9]{3}[A-Z]$")
_INE_PATTERN = re.compile(r"^[0-9A-Z]{10}[A-Z]$")


def validate_uai(value: str) -> str:
    """Return ``value`` upper-cased if it has the shape of a UAI, else raise."""
    normalised = value.strip().upper()
    if not _UAI_PATTERN.match(normalised):
        raise ValueError(
            f"invalid UAI {value!r}: expected 7 characters and a check letter, "
            "for example '0751234J'"
        )
    return normalised


def validate_ine(value: str) -> str:
    """Return ``value`` upper-cased if it has the shape of an INE, else raise."""
    normalised = value.strip().upper()
    if not _INE_PATTERN.match(normalised):
        raise ValueError(
            f"invalid INE {value!r}: expected 10 digits or letters and a check "
            "letter, for example '1234567890A'"
        )
    return normalised


UAI = Annotated[str, AfterValidator(validate_uai)]
INE = Annotated[str, AfterValidator(validate_ine)]
