"""The académie directory: for each académie, its display name and the
addresses of the teams that receive link notifications, read from a TOML file
(``directory.toml`` next to this module unless the settings name another)."""

import re
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from services.notifier.errors import DirectoryError
from shared.contracts.events import Source

SHIPPED_DIRECTORY = Path(__file__).parent / "directory.toml"

_CODE_PATTERN = re.compile(r"^[a-z]+(-[a-z]+)*$")
# A deliberately loose check: it catches typing slips (missing '@' or domain,
# spaces, display names) without claiming RFC 5322 conformance.
_ADDRESS_PATTERN = r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+$"


class Academie(BaseModel):
    """An académie and the addresses of its teams."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str
    name: str = Field(
        min_length=1, description="Display name, for example 'Orléans-Tours'."
    )
    onde: str = Field(pattern=_ADDRESS_PATTERN, description="ONDE diffusion team (1D).")
    siecle: str = Field(
        pattern=_ADDRESS_PATTERN, description="SIECLE diffusion team (2D)."
    )
    educonnect: str = Field(
        pattern=_ADDRESS_PATTERN, description="EduConnect diffusion team."
    )
    assistance: str = Field(pattern=_ADDRESS_PATTERN, description="Assistance team.")

    def diffusion_team(self, source: Source) -> str:
        """Return the address of the team that owns the data of ``source``."""
        return self.onde if source == "onde" else self.siecle


class Directory(Mapping[str, Academie]):
    """Académies by code."""

    def __init__(self, academies: Mapping[str, Academie]) -> None:
        self._academies = dict(academies)

    def __getitem__(self, code: str) -> Academie:
        return self._academies[code]

    def __iter__(self) -> Iterator[str]:
        return iter(self._academies)

    def __len__(self) -> int:
        return len(self._academies)


def load_directory(path: Path | None = None) -> Directory:
    """Read and validate the directory at ``path``, or the shipped one.

    Raises ``DirectoryError`` naming the file and the first invalid académie,
    so a broken file stops the service at start rather than at the first
    refusal.
    """
    path = path or SHIPPED_DIRECTORY
    try:
        with path.open("rb") as file:
            document = tomllib.load(file)
    except OSError as exc:
        raise DirectoryError(
            f"cannot read académie directory {str(path)!r}: {exc}"
        ) from exc
    except tomllib.TOMLDecodeError as exc:
        raise DirectoryError(
            f"invalid TOML in académie directory {str(path)!r}: {exc}"
        ) from exc

    academies: dict[str, Academie] = {}
    for code, entry in document.items():
        if not _CODE_PATTERN.match(code):
            raise DirectoryError(
                f"invalid académie code {code!r} in {str(path)!r}: expected "
                "lowercase ASCII words joined by hyphens, for example 'orleans-tours'"
            )
        if not isinstance(entry, dict):
            raise DirectoryError(
                f"académie {code!r} in {str(path)!r} is not a table: expected "
                f"a [{code}] section with name, onde, siecle, educonnect and assistance"
            )
        try:
            academies[code] = Academie(code=code, **entry)
        except ValidationError as exc:
            raise DirectoryError(
                f"invalid académie {code!r} in {str(path)!r}: {exc}"
            ) from exc

    if not academies:
        raise DirectoryError(f"académie directory {str(path)!r} lists no académie")
    return Directory(academies)
