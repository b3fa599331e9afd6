"""The téléservices catalogue of the portal, read from ``catalogue.toml``:
one list for the first degree (schools known from ONDE) and one for the
second degree (collèges and lycées known from SIECLE). Each téléservice is
open to responsables, to pupils, or to both."""

import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

CATALOGUE_FILE = Path(__file__).parent / "catalogue.toml"
LEVEL_OF_SOURCE = {"onde": "premier_degre", "siecle": "second_degre"}
PUBLICS = ("responsable", "eleve")


@dataclass(frozen=True)
class Teleservice:
    """A service opened from the portal: by a parent for a child, or by a
    pupil for itself, as ``publics`` allows."""

    nom: str
    description: str
    adresse: str
    publics: tuple[str, ...] = ("responsable",)


@cache
def load(path: Path = CATALOGUE_FILE) -> dict[str, tuple[Teleservice, ...]]:
    """Read the catalogue; raises ValueError naming the file and the entry
    when a level is missing, an entry lacks a field or names an unknown
    public."""
    with path.open("rb") as file:
        data = tomllib.load(file)
    catalogue = {}
    for level in LEVEL_OF_SOURCE.values():
        if level not in data:
            raise ValueError(f"{path}: the list [[{level}]] is missing")
        try:
            catalogue[level] = tuple(
                _teleservice(entry, path, level) for entry in data[level]
            )
        except TypeError as exc:
            raise ValueError(f"{path}: invalid entry in [[{level}]]: {exc}") from exc
    return catalogue


def _teleservice(entry: dict, path: Path, level: str) -> Teleservice:
    publics = tuple(entry.pop("publics", ("responsable",)))
    unknown = sorted(set(publics) - set(PUBLICS))
    if unknown or not publics:
        raise ValueError(
            f"{path}: invalid entry in [[{level}]] {entry.get('nom')!r}: publics "
            f"must list some of {PUBLICS}, got {list(publics)!r}"
        )
    return Teleservice(**entry, publics=publics)


def services_for(source: str, public: str = "responsable") -> tuple[Teleservice, ...]:
    """Return the téléservices of a pupil known from ``source`` (onde or
    siecle) that ``public`` may open: its responsables' by default, or with
    ``public="eleve"`` the pupil's own."""
    return tuple(
        service
        for service in load()[LEVEL_OF_SOURCE[source]]
        if public in service.publics
    )


def _origin(address: str) -> tuple[str, str]:
    parts = urlsplit(address)
    return parts.scheme.lower(), parts.netloc.lower()


def registered_return(address: str) -> Teleservice | None:
    """Return the téléservice that may send a user back to ``address``: one
    of the catalogue whose address has the same scheme and host. Any other
    address gets None, so *Mon compte* never links to an unknown site."""
    scheme, host = _origin(address)
    if scheme != "https" or not host:
        return None
    for services in load().values():
        for service in services:
            if _origin(service.adresse) == (scheme, host):
                return service
    return None
