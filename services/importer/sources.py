"""Find the school exports in the folders given to an import.

Each school's export sits in a folder named by its UAI. A folder given to the
importer is either such a school folder or a folder of them (for example a
week's drop of one académie). A school folder contains one of:

- SIECLE: ``ElevesSansAdresses`` and ``ResponsablesAvecAdresses``, each as
  ``.xml`` or ``.zip``; when both forms are there, they hold the same
  content and the ``.xml`` is read;
- ONDE: ``eleves.csv`` and ``responsables.csv``.

File names are matched without regard to case.
"""

import hashlib
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from services.importer.errors import ImportFileRejected, SourceFolderInvalid
from services.importer.onde import read_onde_school
from services.importer.records import EleveRecord, SchoolExport
from services.importer.siecle import DEFAULT_LIMITS, ReadLimits, read_siecle_school
from shared.contracts.events import Source
from shared.types import validate_uai


@dataclass(frozen=True, slots=True)
class SchoolFolder:
    """The two files of one school's export."""

    source: Source
    uai: str
    eleves: Path
    responsables: Path
    limits: ReadLimits = DEFAULT_LIMITS

    def read(self) -> SchoolExport:
        """Parse and validate both files; raises ``ImportFileRejected``."""
        if self.source == "siecle":
            return read_siecle_school(
                self.eleves, self.responsables, uai=self.uai, limits=self.limits
            )
        return read_onde_school(self.eleves, self.responsables, uai=self.uai)


class RunIneIndex:
    """The INE of every pupil read in a run, by source, so that two schools
    of one source that carry the same INE reject the run.

    The same INE in ONDE and in SIECLE is a pupil moving from an école to a
    collège and is allowed. Each pupil costs 12 bytes: the hash of its INE
    and the position of its school, in two arrays. ``check`` finds the
    repeated hashes once every school is read. It then reads the schools
    concerned again to name the pupils, which also separates a real
    duplicate from two INE that share a hash.
    """

    def __init__(self, schools: Sequence[SchoolFolder]) -> None:
        self._schools = schools
        # source -> (hash of each INE, position of its school), in run order.
        self._pupils: dict[str, tuple[array, array]] = {}

    def add(self, index: int, ine_hashes: array) -> None:
        """Record the pupils of ``schools[index]`` by the ``ine_hash`` of
        their INE."""
        source = self._schools[index].source
        hashes, owners = self._pupils.setdefault(source, (array("q"), array("I")))
        hashes.extend(ine_hashes)
        owners.extend([index] * len(ine_hashes))

    def check(self) -> None:
        """Raise ``ImportFileRejected`` on the pupils' file of the first school,
        in run order, with a pupil whose INE a pupil of an earlier school of
        the same source has."""
        found = []
        for hashes, owners in self._pupils.values():
            found.extend(_shared_hashes(hashes, owners))
        for index, earlier_index, shared in sorted(found):
            earlier, school = self._schools[earlier_index], self._schools[index]
            earlier_pupils = {
                pupil.ine: pupil
                for pupil in earlier.read().eleves
                if pupil.ine is not None and ine_hash(pupil.ine) == shared
            }
            for pupil in school.read().eleves:
                other = earlier_pupils.get(pupil.ine)
                if other is not None:
                    raise _duplicate(earlier, school, pupil, other)


def ine_hash(ine: str) -> int:
    """Return a 64-bit hash of an INE that is the same in every process,
    unlike ``hash``, so that reader workers can compute it."""
    digest = hashlib.blake2b(ine.encode("ascii"), digest_size=8).digest()
    return int.from_bytes(digest, "little", signed=True)


def _shared_hashes(hashes: array, owners: array) -> list[tuple[int, int, int]]:
    """Return ``(school, earlier school, hash)`` for each hash that a pupil
    of ``school`` shares with a pupil of an earlier school."""
    repeated = set()
    previous = None
    # The sorted copy is a list of Python ints: about 40 MB for 1,000,000
    # pupils (an estimate), held during the check only.
    for value in sorted(hashes):
        if value == previous:
            repeated.add(value)
        previous = value
    if not repeated:
        return []
    first_owner: dict[int, int] = {}
    shared = []
    for value, owner in zip(hashes, owners, strict=True):
        if value not in repeated:
            continue
        earlier = first_owner.setdefault(value, owner)
        if earlier != owner:
            shared.append((owner, earlier, value))
    return shared


def _duplicate(
    earlier: SchoolFolder, school: SchoolFolder, pupil: EleveRecord, other: EleveRecord
) -> ImportFileRejected:
    # Names and INE values stay out of the message: it reaches the logs.
    return ImportFileRejected(
        school.eleves,
        _pupil_location(pupil),
        f"same INE as {_pupil_location(other)} of UAI {earlier.uai} "
        f"({earlier.eleves}): a pupil is enrolled in one school at a time, "
        f"so correct the INE of one of them in {school.source.upper()}, or "
        "give the school they left its exit date",
    )


def _pupil_location(pupil: EleveRecord) -> str:
    if pupil.source_eleve_id is not None:
        return f"element ELEVE ELEVE_ID={pupil.source_eleve_id!r}"
    return f"line {pupil.line}"


def find_school_folders(
    folders: Iterable[Path], limits: ReadLimits = DEFAULT_LIMITS
) -> list[SchoolFolder]:
    """Return the school exports found in ``folders``, in folder order and
    then by UAI; SIECLE files are read within ``limits``.

    Raises ``SourceFolderInvalid`` for a folder that does not exist, contains
    no school folder, or contains a school folder whose files are incomplete
    or mix both sources, and when two folders contain an export for the same
    school and source.
    """
    schools: list[SchoolFolder] = []
    for folder in folders:
        if not folder.is_dir():
            raise SourceFolderInvalid(f"{folder} is not a folder")
        if _uai_of(folder) is not None:
            schools.append(_recognise(folder, limits))
            continue
        school_folders = sorted(
            child
            for child in folder.iterdir()
            if child.is_dir() and _uai_of(child) is not None
        )
        if not school_folders:
            raise SourceFolderInvalid(
                f"{folder} contains no school folder named by its UAI, "
                "for example 0751234J"
            )
        schools.extend(_recognise(child, limits) for child in school_folders)

    seen: dict[tuple[str, str], SchoolFolder] = {}
    for school in schools:
        earlier = seen.setdefault((school.source, school.uai), school)
        if earlier is not school:
            raise SourceFolderInvalid(
                f"two {school.source} exports for UAI {school.uai!r}: "
                f"{earlier.eleves.parent} and {school.eleves.parent}"
            )
    return schools


def _uai_of(folder: Path) -> str | None:
    try:
        return validate_uai(folder.name)
    except ValueError:
        return None


def _recognise(folder: Path, limits: ReadLimits) -> SchoolFolder:
    uai = _uai_of(folder)
    assert uai is not None
    files = {path.name.lower(): path for path in folder.iterdir() if path.is_file()}
    siecle = (
        _xml_or_zip(files, "elevessansadresses"),
        _xml_or_zip(files, "responsablesavecadresses"),
    )
    onde = (files.get("eleves.csv"), files.get("responsables.csv"))

    source: Source
    if any(siecle) and any(onde):
        raise SourceFolderInvalid(f"{folder} contains both SIECLE and ONDE files")
    if any(siecle):
        source, (eleves, responsables) = "siecle", siecle
    elif any(onde):
        source, (eleves, responsables) = "onde", onde
    else:
        raise SourceFolderInvalid(
            f"{folder} contains neither a SIECLE export (ElevesSansAdresses and "
            "ResponsablesAvecAdresses, .xml or .zip) nor an ONDE export "
            "(eleves.csv and responsables.csv)"
        )

    if eleves is None or responsables is None:
        present = eleves or responsables
        raise SourceFolderInvalid(
            f"{folder} contains {present.name} but not the other {source} file"
        )
    return SchoolFolder(source, uai, eleves, responsables, limits)


def _xml_or_zip(files: dict[str, Path], stem: str) -> Path | None:
    return files.get(f"{stem}.xml") or files.get(f"{stem}.zip")
