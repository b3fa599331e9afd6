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

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from services.importer.errors import SourceFolderInvalid
from services.importer.onde import read_onde_school
from services.importer.records import SchoolExport
from services.importer.siecle import read_siecle_school
from shared.contracts.events import Source
from shared.types import validate_uai


@dataclass(frozen=True, slots=True)
class SchoolFolder:
    """The two files of one school's export."""

    source: Source
    uai: str
    eleves: Path
    responsables: Path

    def read(self) -> SchoolExport:
        """Parse and validate both files; raises ``ImportFileRejected``."""
        if self.source == "siecle":
            return read_siecle_school(self.eleves, self.responsables, uai=self.uai)
        return read_onde_school(self.eleves, self.responsables, uai=self.uai)


def find_school_folders(folders: Iterable[Path]) -> list[SchoolFolder]:
    """Return the school exports found in ``folders``, in folder order and
    then by UAI.

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
            schools.append(_recognise(folder))
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
        schools.extend(_recognise(child) for child in school_folders)

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


def _recognise(folder: Path) -> SchoolFolder:
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
    return SchoolFolder(source, uai, eleves, responsables)


def _xml_or_zip(files: dict[str, Path], stem: str) -> Path | None:
    return files.get(f"{stem}.xml") or files.get(f"{stem}.zip")
