"""ONDE exports of an école: ``eleves.csv`` and ``responsables.csv``.

Both files are ``;``-separated with a header line, encoded in Windows-1252
(a file that starts with a UTF-8 byte order mark is read as UTF-8). They are
decoded one line at a time, so a byte that the encoding cannot decode, or
text that reads as double-encoded UTF-8 (``HÃ©lÃ¨ne``), is reported with its
line number.

``responsables.csv`` has one row per adult and repeats the four columns
naming a child three times, so its header names are not unique and its
columns are read by position. It carries no id for the adult and no INE for
the child: each child is found among the pupils of ``eleves.csv`` by family
name, first name and class label, compared with ``shared.names.name_key``.
Every adult of the file is taken as a legal representative.
"""

import codecs
import csv
import functools
import hashlib
from collections.abc import Iterator
from datetime import date
from pathlib import Path

from services.importer.errors import ImportFileRejected
from services.importer.records import (
    EleveRecord,
    LinkRecord,
    ResponsableRecord,
    SchoolExport,
)
from services.importer.values import (
    MAX_CLASS_LABEL,
    MAX_EMAIL,
    MAX_ID,
    MAX_NAME,
    MAX_OTHER,
    MAX_PHONE,
    InvalidDate,
    blank_to_none,
    check_code,
    check_text,
    double_encoding_reason,
    find_double_encoding,
    parse_date,
    parse_ine,
    texts_pass,
)
from shared.names import email_key, name_key, phone_key

ENCODING = "cp1252"

# Columns of eleves.csv, found by name. Exports write " Cycle" with a leading
# space, so header names are compared without surrounding blanks.
ELEVE_COLUMNS = {
    "nom": "Nom élève",
    "nom_usage": "Nom d'usage élève",
    "prenom": "Prénom élève",
    "date_naissance": "Date naissance",
    "ine": "INE",
    "classe": "Libellé classe",
    "classe_id": "Identifiant classe",
}

# Columns of responsables.csv, by position, then groups of child columns.
RESPONSABLE_COLUMNS = (
    "Civilité Responsable",
    "Nom usage responsable",
    "Nom responsable",
    "Prénom responsable",
    "Adresse responsable",
    "CP responsable",
    "Commune responsable",
    "Pays",
    "Courriel",
    "Téléphone domicile",
    "Téléphone travail",
    "Téléphone portable",
)
CHILD_COLUMNS = (
    "Nom d'usage enfant",
    "Nom de famille enfant",
    "Prénom enfant",
    "Classes enfants",
)
_CIVILITE, _NOM, _PRENOM = 0, 2, 3
_COURRIEL, _PORTABLE = 8, 11
_CHILD_NOM, _CHILD_PRENOM, _CHILD_CLASSE = 1, 2, 3

CIVILITES = frozenset({"M.", "MME"})

# Maximum length of each column, in characters; others get MAX_OTHER (see
# ``values``).
MAX_LENGTHS = {
    "Nom élève": MAX_NAME,
    "Nom d'usage élève": MAX_NAME,
    "Prénom élève": MAX_NAME,
    "INE": MAX_ID,
    "Libellé classe": MAX_CLASS_LABEL,
    "Identifiant classe": MAX_ID,
    "Nom usage responsable": MAX_NAME,
    "Nom responsable": MAX_NAME,
    "Prénom responsable": MAX_NAME,
    "Courriel": MAX_EMAIL,
    "Téléphone domicile": MAX_PHONE,
    "Téléphone travail": MAX_PHONE,
    "Téléphone portable": MAX_PHONE,
    "Nom d'usage enfant": MAX_NAME,
    "Nom de famille enfant": MAX_NAME,
    "Prénom enfant": MAX_NAME,
    "Classes enfants": MAX_CLASS_LABEL,
}

# Maximum length of a line, in bytes: a real line is well under 2 KiB, and a longer
# one would be held whole in memory.
MAX_LINE_BYTES = 65_536

PupilKey = tuple[str, str, str]


def read_onde_school(
    eleves_path: Path, responsables_path: Path, *, uai: str
) -> SchoolExport:
    """Read both files of the école ``uai`` and return its pupils with their
    responsables.

    Raises ``ImportFileRejected`` for anything that stops either file from
    being read whole, including a child reference that matches no pupil, or
    more than one.
    """
    eleves = _read_eleves(eleves_path, uai)
    by_key: dict[PupilKey, list[str]] = {}
    for pupil in eleves.values():
        by_key.setdefault(_pupil_key(pupil.nom, pupil.prenom, pupil.classe), []).append(
            pupil.eleve_id
        )

    responsables, links = _read_responsables(responsables_path, uai, by_key)

    return SchoolExport(
        source="onde",
        uai=uai,
        eleves=tuple(
            pupil.with_links(tuple(links.get(eleve_id, ())))
            for eleve_id, pupil in eleves.items()
        ),
        responsables=tuple(responsables.values()),
    )


def onde_responsable_id(
    uai: str, civilite: str, nom: str, prenom: str, contact: str | None
) -> str:
    """Return ``onde:<UAI>:<16 hex digits>``, a digest of who the adult is.

    ``contact`` is the e-mail key, or the mobile phone key when there is no
    e-mail, or the row's children when there is neither. Two rows naming the
    same adult with the same contact give the same id.

    NOTE: ONDE exports carry no id for adults. So this id changes when the
    civilité, family name, first name or that contact changes, and the adult
    then shows as removed and added again. An adult without e-mail or phone
    on two rows (more than three children) gets two ids. An adult known to
    two écoles gets one id in each. An adult id in the export would lift
    these limits.
    """
    parts = (
        civilite.strip().upper(),
        _cached_name_key(nom),
        _cached_name_key(prenom),
        contact or "",
    )
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()
    return f"onde:{uai}:{digest[:16]}"


def _read_eleves(path: Path, uai: str) -> dict[str, EleveRecord]:
    header, rows = _read_table(path)
    columns = _columns_by_name(header, path)

    pupils: dict[str, EleveRecord] = {}
    lines: dict[str, int] = {}
    for line, row in rows:
        values = {name: blank_to_none(row[index]) for name, index in columns.items()}
        try:
            pupil = _eleve(values, uai, line)
        except InvalidDate as exc:
            # Operators read this one in French, with the line in the message.
            raise ImportFileRejected(
                path, f"line {line}", f"ligne {line} : {exc}"
            ) from None
        except ValueError as exc:
            raise ImportFileRejected(path, f"line {line}", str(exc)) from None
        if pupil.eleve_id in pupils:
            raise ImportFileRejected(
                path,
                f"line {line}",
                _duplicate_pupil_reason(pupils[pupil.eleve_id], pupil, lines, line),
            )
        pupils[pupil.eleve_id] = pupil
        lines[pupil.eleve_id] = line
    return pupils


def _duplicate_pupil_reason(
    earlier: EleveRecord, pupil: EleveRecord, lines: dict[str, int], line: int
) -> str:
    # Names stay out of the message, because they would reach the logs.
    both = f"lines {lines[pupil.eleve_id]} and {line}"
    if pupil.ine is None:
        return f"duplicate pupil: {both} have the same name and birth date, no INE"
    same_name = (name_key(earlier.nom), name_key(earlier.prenom)) == (
        name_key(pupil.nom),
        name_key(pupil.prenom),
    )
    if same_name:
        return f"duplicate pupil: {both} have the same INE"
    return (
        f"duplicate INE with different names on {both}: two pupils are never "
        "merged, so correct the INE of one of them in ONDE"
    )


def _eleve(values: dict[str, str | None], uai: str, line: int) -> EleveRecord:
    for name in ("nom", "prenom", "date_naissance", "classe"):
        if values[name] is None:
            raise ValueError(f"missing value in column {ELEVE_COLUMNS[name]!r}")
    nom, prenom = values["nom"], values["prenom"]
    date_naissance = parse_date(values["date_naissance"])
    ine = parse_ine(values["ine"])
    return EleveRecord(
        eleve_id=ine or _eleve_id_without_ine(uai, nom, prenom, date_naissance),
        ine=ine,
        source_eleve_id=None,
        nom=nom,
        nom_usage=values["nom_usage"],
        prenom=prenom,
        date_naissance=date_naissance,
        classe=values["classe"],
        classe_id=values["classe_id"],
        line=line,
    )


def _eleve_id_without_ine(uai: str, nom: str, prenom: str, naissance: date) -> str:
    # NOTE: a pupil without INE is known by name and birth date in this école
    # only, so the id changes when they change. The INE, once exported,
    # replaces it.
    parts = (_cached_name_key(nom), _cached_name_key(prenom), naissance.isoformat())
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()
    return f"onde:{uai}:{digest[:16]}"


def _read_responsables(
    path: Path, uai: str, pupils_by_key: dict[PupilKey, list[str]]
) -> tuple[dict[str, ResponsableRecord], dict[str, list[LinkRecord]]]:
    header, rows = _read_table(path)
    child_groups = _check_responsables_header(header, path)

    responsables: dict[str, ResponsableRecord] = {}
    links: dict[str, list[LinkRecord]] = {}
    for line, row in rows:
        children = [
            _find_pupil(row[start : start + 4], pupils_by_key, path, line, number)
            for number, start in enumerate(child_groups, start=1)
            if any(map(str.strip, row[start : start + 4]))
        ]
        responsable = _responsable(row, uai, path, line, children)
        if not children:
            continue

        # An adult with more than three children takes more than one row.
        # Those rows share an id, and their children are merged.
        responsables.setdefault(responsable.responsable_id, responsable)
        for eleve_id in children:
            pupil_links = links.setdefault(eleve_id, [])
            link = LinkRecord(responsable.responsable_id)
            if link not in pupil_links:
                pupil_links.append(link)
    return responsables, links


def _responsable(
    row: list[str], uai: str, path: Path, line: int, children: list[str]
) -> ResponsableRecord:
    civilite = blank_to_none(row[_CIVILITE])
    nom = blank_to_none(row[_NOM])
    prenom = blank_to_none(row[_PRENOM])
    for value, index in ((civilite, _CIVILITE), (nom, _NOM), (prenom, _PRENOM)):
        if value is None:
            raise ImportFileRejected(
                path,
                f"line {line}",
                f"missing value in column {RESPONSABLE_COLUMNS[index]!r}",
            )

    try:
        check_code(
            civilite.upper(), CIVILITES, f"column {RESPONSABLE_COLUMNS[_CIVILITE]!r}"
        )
    except ValueError as exc:
        raise ImportFileRejected(path, f"line {line}", str(exc)) from None

    email = blank_to_none(row[_COURRIEL])
    mobile = blank_to_none(row[_PORTABLE])
    # A blank e-mail and phone match nothing: without them, the children of
    # the row tell the adult apart, so that two adults of the same name are
    # never merged on their name alone.
    contact = email_key(email) or phone_key(mobile)
    if contact is None:
        contact = "children:" + " ".join(sorted(children))
    return ResponsableRecord(
        responsable_id=onde_responsable_id(uai, civilite, nom, prenom, contact),
        civilite=civilite,
        nom=nom,
        prenom=prenom,
        email=email,
        telephone_portable=mobile,
    )


def _find_pupil(
    child: list[str],
    pupils_by_key: dict[PupilKey, list[str]],
    path: Path,
    line: int,
    number: int,
) -> str:
    # Names stay out of the message, because they would reach the logs.
    key = _pupil_key(child[_CHILD_NOM], child[_CHILD_PRENOM], child[_CHILD_CLASSE])
    matches = pupils_by_key.get(key, [])
    if len(matches) == 1:
        return matches[0]
    found = "no pupil" if not matches else f"{len(matches)} pupils"
    raise ImportFileRejected(
        path,
        f"line {line}",
        f"child {number} matches {found} of eleves.csv by family name, "
        "first name and class",
    )


def _pupil_key(nom: str, prenom: str, classe: str) -> PupilKey:
    return _cached_name_key(nom), _cached_name_key(prenom), _cached_name_key(classe)


# Names and class labels repeat across the rows of an académie. Each is
# compared once per pupil and once per child, and hashed into adults' ids.
_cached_name_key = functools.lru_cache(maxsize=65_536)(name_key)


def _read_table(path: Path) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    """Return the header (names without surrounding blanks) and an iterator of
    ``(line number, fields)`` over the rows that are not blank. The iterator
    raises ``ImportFileRejected`` on a row whose field count differs from the
    header's."""
    reader = csv.reader(_decoded_lines(path), delimiter=";")
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise ImportFileRejected(path, "line 1", f"unreadable CSV: {exc}") from None
    if header is None or reader.line_num != 1 or not any(map(str.strip, header)):
        raise ImportFileRejected(path, "line 1", "missing header line")

    names = [name.strip() for name in header]
    limits = [MAX_LENGTHS.get(name, MAX_OTHER) for name in names]

    def rows() -> Iterator[tuple[int, list[str]]]:
        while True:
            try:
                row = next(reader, None)
            except csv.Error as exc:
                raise ImportFileRejected(
                    path, f"line {reader.line_num}", f"unreadable CSV: {exc}"
                ) from None
            if row is None:
                return
            if not any(map(str.strip, row)):
                continue
            if len(row) != len(header):
                raise ImportFileRejected(
                    path,
                    f"line {reader.line_num}",
                    f"expected {len(header)} fields separated by ';', found {len(row)}",
                )
            if texts_pass(row, limits):
                yield reader.line_num, row
                continue
            for name, limit, value in zip(names, limits, row, strict=True):
                try:
                    check_text(value.strip(), f"column {name!r}", limit)
                except ValueError as exc:
                    raise ImportFileRejected(
                        path, f"line {reader.line_num}", str(exc)
                    ) from None
            yield reader.line_num, row

    return names, rows()


def _decoded_lines(path: Path) -> Iterator[str]:
    encoding = ENCODING
    with path.open("rb") as stream:
        number = 0
        while raw := stream.readline(MAX_LINE_BYTES + 1):
            number += 1
            if len(raw) > MAX_LINE_BYTES:
                raise ImportFileRejected(
                    path,
                    f"line {number}",
                    f"line longer than {MAX_LINE_BYTES} bytes: the file is "
                    "not an ONDE export, or is damaged",
                )
            if number == 1 and raw.startswith(codecs.BOM_UTF8):
                encoding = "utf-8"
                raw = raw[len(codecs.BOM_UTF8) :]
            try:
                text = raw.decode(encoding)
            except UnicodeDecodeError as exc:
                raise ImportFileRejected(
                    path,
                    f"line {number}",
                    f"byte {raw[exc.start]:#04x} at offset {exc.start} cannot be "
                    f"decoded as {encoding}",
                ) from None
            pair = find_double_encoding(text)
            if pair is not None:
                cause = (
                    "the file starts with a UTF-8 byte order mark, but its text "
                    "was converted to UTF-8 twice"
                    if encoding == "utf-8"
                    else "the file is UTF-8 without a byte order mark, "
                    "or its text was converted twice"
                )
                raise ImportFileRejected(
                    path, f"line {number}", double_encoding_reason(pair, cause)
                )
            yield text


def _columns_by_name(header: list[str], path: Path) -> dict[str, int]:
    positions = {name: index for index, name in enumerate(header)}
    missing = [name for name in ELEVE_COLUMNS.values() if name not in positions]
    if missing:
        raise ImportFileRejected(path, "line 1", f"missing columns {missing}")
    return {key: positions[name] for key, name in ELEVE_COLUMNS.items()}


def _check_responsables_header(header: list[str], path: Path) -> list[int]:
    """Check the header and return where each group of child columns starts."""
    fixed, width = len(RESPONSABLE_COLUMNS), len(CHILD_COLUMNS)
    group_count = max((len(header) - fixed) // width, 1)
    expected = [*RESPONSABLE_COLUMNS, *CHILD_COLUMNS * group_count]
    if header != expected:
        wrong = [
            f"{index + 1} {name!r}"
            for index, name in enumerate(expected)
            if index >= len(header) or header[index] != name
        ]
        raise ImportFileRejected(
            path,
            "line 1",
            f"expected {fixed} columns then groups of {width} child columns, "
            f"found {len(header)} columns; expected at positions: "
            f"{', '.join(wrong) or 'no more columns'}",
        )
    return [fixed + width * group for group in range(group_count)]
