"""SIECLE exports of a collège or lycée: ``ElevesSansAdresses`` (root
``BEE_ELEVES``) and ``ResponsablesAvecAdresses`` (root ``BEE_RESPONSABLES``),
each a plain ``.xml`` file or a ``.zip`` archive holding one.

The files are fed to the XML parser in chunks, and each record element is
dropped once read, so memory contains the records kept, never the document
tree. The XML
parser decodes the bytes with the encoding the prolog declares (ISO-8859-15
in real exports, where byte 0xBC is 'Œ'; decoding them as Latin-1 would give
'¼').

Two layouts are read. The current one names people with ``NOM_DE_FAMILLE``
(and ``NOM_USAGE``) and marks a legal representative with
``NIVEAU_RESPONSABILITE`` 1; the older one uses ``NOM`` and ``RESP_LEGAL`` 1
or 2 (0 is not a legal representative).

Ids: a pupil is ``eleve_id`` = its INE, or ``siecle:<ELEVE_ID>`` when the
export has no INE; a person is ``siecle:<PERSONNE_ID>``.
"""

import re
import zipfile
import zlib
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import BinaryIO
from xml.etree import ElementTree
from xml.parsers import expat

from services.importer.errors import ImportFileRejected
from services.importer.records import (
    EleveRecord,
    LinkRecord,
    ResponsableRecord,
    SchoolExport,
)
from services.importer.values import (
    MAX_DIVISION,
    MAX_EMAIL,
    MAX_ID,
    MAX_NAME,
    MAX_OTHER,
    MAX_PHONE,
    blank_to_none,
    check_code,
    check_text,
    double_encoding_reason,
    find_double_encoding,
    parse_date,
    parse_ine,
    texts_pass,
)
from shared.names import name_key
from shared.types import validate_uai

ELEVES_ROOT = "BEE_ELEVES"
RESPONSABLES_ROOT = "BEE_RESPONSABLES"
DIVISION = "D"

# Codes of the SIECLE nomenclatures that the importer reads. A value outside
# them rejects the file, because guessing whether an unknown level means a
# legal representative could give an account to the wrong adult.
CIVILITES = frozenset({"M.", "MME"})
NIVEAUX_RESPONSABILITE = frozenset({"1", "2", "3"})
RESP_LEGAL = frozenset({"0", "1", "2"})
TYPES_STRUCTURE = frozenset({"D", "G"})

# Maximum run of bytes without a '<', whitespace between elements included:
# the parser keeps such a run in memory whole, and a field of a real export
# is at most a few hundred bytes (an estimate).
MAX_TEXT_RUN_BYTES = 1024 * 1024


@dataclass(frozen=True, slots=True)
class ReadLimits:
    """Largest file the importer reads, and largest compression ratio of a
    ``.zip`` member, so that a zip bomb is rejected before it is parsed.

    ``max_xml_bytes`` applies to the bytes actually read too, as the size an
    archive declares can be false.
    """

    max_xml_bytes: int = 2 * 1024**3
    max_compression_ratio: float = 100.0


DEFAULT_LIMITS = ReadLimits()


# Maximum length of each element or attribute, in characters; others get
# MAX_OTHER (see ``values``).
MAX_LENGTHS = {
    "NOM": MAX_NAME,
    "NOM_DE_FAMILLE": MAX_NAME,
    "NOM_USAGE": MAX_NAME,
    "PRENOM": MAX_NAME,
    "MEL": MAX_EMAIL,
    "TEL_PORTABLE": MAX_PHONE,
    "TEL_PERSONNEL": MAX_PHONE,
    "TEL_PROFESSIONNEL": MAX_PHONE,
    "CODE_STRUCTURE": MAX_DIVISION,
    "ELEVE_ID": MAX_ID,
    "PERSONNE_ID": MAX_ID,
    "ID_NATIONAL": MAX_ID,
    "UAJ": MAX_ID,
}


def read_siecle_school(
    eleves_path: Path,
    responsables_path: Path,
    *,
    uai: str | None = None,
    limits: ReadLimits = DEFAULT_LIMITS,
) -> SchoolExport:
    """Read both files of one school and return its enrolled pupils and their
    legal representatives.

    A pupil whose ``DATE_SORTIE`` is on or before the export date
    (``PARAMETRES/DATE_EXPORT`` of the pupils' file) is not enrolled and is
    left out. Only people who are the legal representative of at least one
    enrolled pupil are returned: the other responsables (person in charge,
    contact) get no account, so they are not published.

    Raises ``ImportFileRejected`` for anything that stops either file from
    being read whole, including a file or archive member over ``limits``,
    and when ``PARAMETRES/UAJ`` differs between the files or from ``uai``.
    """
    eleves = _read_eleves_file(eleves_path, limits)
    responsables = _read_responsables_file(responsables_path, limits)

    if uai is not None and eleves.uai != uai:
        raise ImportFileRejected(
            eleves_path,
            "element PARAMETRES/UAJ",
            f"UAJ {eleves.uai!r} differs from the UAI {uai!r} of its folder",
        )
    if responsables.uai != eleves.uai:
        raise ImportFileRejected(
            responsables_path,
            "element PARAMETRES/UAJ",
            f"UAJ {responsables.uai!r} differs from UAJ {eleves.uai!r} "
            f"of {eleves_path}",
        )

    return _assemble(eleves, responsables, eleves_path, responsables_path)


@dataclass
class _ElevesFile:
    uai: str = ""
    date_export: date | None = None
    # Keyed by ELEVE_ID. ``classe`` is filled in from the STRUCTURES section.
    pupils: dict[str, EleveRecord] = field(default_factory=dict)
    exit_dates: dict[str, date] = field(default_factory=dict)
    divisions: dict[str, str] = field(default_factory=dict)


@dataclass
class _Link:
    eleve_id: str
    personne_id: str
    legal: bool
    code_parente: str | None


@dataclass
class _ResponsablesFile:
    uai: str = ""
    # Keyed by PERSONNE_ID.
    personnes: dict[str, ResponsableRecord] = field(default_factory=dict)
    links: list[_Link] = field(default_factory=list)


def _read_eleves_file(path: Path, limits: ReadLimits) -> _ElevesFile:
    result = _ElevesFile()
    for element in _iter_records(path, ELEVES_ROOT, limits):
        if element.tag == "PARAMETRES":
            result.uai, result.date_export = _read_parametres(element, path)
        elif element.tag == "ELEVE":
            _read_eleve(element, path, result)
        elif element.tag == "STRUCTURES_ELEVE":
            _read_structures(element, path, result)

    if result.date_export is None:
        raise ImportFileRejected(path, "element PARAMETRES", "missing")
    return result


def _read_responsables_file(path: Path, limits: ReadLimits) -> _ResponsablesFile:
    result = _ResponsablesFile()
    seen_links: set[tuple[str, str]] = set()
    for element in _iter_records(path, RESPONSABLES_ROOT, limits):
        if element.tag == "PARAMETRES":
            result.uai, _ = _read_parametres(element, path)
        elif element.tag == "PERSONNE":
            _read_personne(element, path, result)
        elif element.tag == "RESPONSABLE_ELEVE":
            link = _read_link(element, path)
            if (link.eleve_id, link.personne_id) in seen_links:
                raise ImportFileRejected(
                    path,
                    _link_location(link.eleve_id, link.personne_id),
                    "duplicate link between this pupil and this person",
                )
            seen_links.add((link.eleve_id, link.personne_id))
            result.links.append(link)

    if not result.uai:
        raise ImportFileRejected(path, "element PARAMETRES", "missing")
    return result


def _read_parametres(element: ElementTree.Element, path: Path) -> tuple[str, date]:
    location = "element PARAMETRES"
    uaj = _required(element, "UAJ", path, location)
    try:
        uai = validate_uai(uaj)
    except ValueError as exc:
        raise ImportFileRejected(path, location, str(exc)) from None
    return uai, _required_date(element, "DATE_EXPORT", path, location)


def _read_eleve(element: ElementTree.Element, path: Path, into: _ElevesFile) -> None:
    source_id = _attribute(element, "ELEVE_ID", path)
    location = f"element ELEVE ELEVE_ID={source_id!r}"
    if source_id in into.pupils:
        raise ImportFileRejected(path, location, "duplicate ELEVE_ID")

    try:
        ine = parse_ine(_text(element, "ID_NATIONAL"))
    except ValueError as exc:
        raise ImportFileRejected(path, location, f"{exc} (ID_NATIONAL)") from None
    record = EleveRecord(
        eleve_id=ine or f"siecle:{source_id}",
        ine=ine,
        source_eleve_id=source_id,
        nom=_family_name(element, path, location),
        nom_usage=_text(element, "NOM_USAGE"),
        prenom=_required(element, "PRENOM", path, location),
        date_naissance=_required_date(element, "DATE_NAISS", path, location),
        classe="",
    )
    into.pupils[source_id] = record

    exit_date = _optional_date(element, "DATE_SORTIE", path, location)
    if exit_date is not None:
        into.exit_dates[source_id] = exit_date


def _read_structures(
    element: ElementTree.Element, path: Path, into: _ElevesFile
) -> None:
    source_id = _attribute(element, "ELEVE_ID", path)
    location = f"element STRUCTURES_ELEVE ELEVE_ID={source_id!r}"
    for structure in element.iter("STRUCTURE"):
        kind = _required(structure, "TYPE_STRUCTURE", path, location)
        _check(kind, TYPES_STRUCTURE, "TYPE_STRUCTURE", path, location)
        if kind != DIVISION:
            continue
        code = _required(structure, "CODE_STRUCTURE", path, location)
        if source_id in into.divisions:
            raise ImportFileRejected(
                path,
                location,
                f"several divisions (TYPE_STRUCTURE {DIVISION}): "
                f"{into.divisions[source_id]!r} and {code!r}",
            )
        into.divisions[source_id] = code


def _read_personne(
    element: ElementTree.Element, path: Path, into: _ResponsablesFile
) -> None:
    personne_id = _attribute(element, "PERSONNE_ID", path)
    location = f"element PERSONNE PERSONNE_ID={personne_id!r}"
    if personne_id in into.personnes:
        raise ImportFileRejected(path, location, "duplicate PERSONNE_ID")
    # The snapshot stores a pupil's responsable ids separated by spaces.
    if any(character.isspace() for character in personne_id):
        raise ImportFileRejected(
            path,
            location,
            "invalid PERSONNE_ID: it contains a blank. Correct it in the source "
            "application",
        )

    into.personnes[personne_id] = ResponsableRecord(
        responsable_id=f"siecle:{personne_id}",
        civilite=_check(
            _required(element, "LC_CIVILITE", path, location),
            CIVILITES,
            "LC_CIVILITE",
            path,
            location,
        ),
        nom=_family_name(element, path, location),
        prenom=_required(element, "PRENOM", path, location),
        email=_text(element, "MEL"),
        telephone_portable=_text(element, "TEL_PORTABLE"),
    )


def _read_link(element: ElementTree.Element, path: Path) -> _Link:
    eleve_id = _text(element, "ELEVE_ID")
    personne_id = _text(element, "PERSONNE_ID")
    location = _link_location(eleve_id, personne_id)
    if eleve_id is None or personne_id is None:
        raise ImportFileRejected(path, location, "missing ELEVE_ID or PERSONNE_ID")

    niveau = _text(element, "NIVEAU_RESPONSABILITE")
    resp_legal = _text(element, "RESP_LEGAL")
    if niveau is not None:
        _check(niveau, NIVEAUX_RESPONSABILITE, "NIVEAU_RESPONSABILITE", path, location)
        legal = niveau == "1"
    elif resp_legal is not None:
        _check(resp_legal, RESP_LEGAL, "RESP_LEGAL", path, location)
        legal = resp_legal in ("1", "2")
    else:
        raise ImportFileRejected(
            path,
            location,
            "missing NIVEAU_RESPONSABILITE (or RESP_LEGAL in the older layout)",
        )
    code_parente = _text(element, "CODE_PARENTE")
    if code_parente is not None and not (
        len(code_parente) == 2 and code_parente.isdigit()
    ):
        raise ImportFileRejected(
            path,
            location,
            f"unknown code {code_parente!r} in CODE_PARENTE: expected two digits",
        )
    return _Link(eleve_id, personne_id, legal, code_parente)


def _assemble(
    eleves: _ElevesFile,
    responsables: _ResponsablesFile,
    eleves_path: Path,
    responsables_path: Path,
) -> SchoolExport:
    """Keep the enrolled pupils, give each its division and legal
    representatives, and keep the people who represent at least one of them."""
    enrolled: dict[str, EleveRecord] = {}
    left: list[str] = []
    ine_owner: dict[str, str] = {}
    for source_id, pupil in eleves.pupils.items():
        exit_date = eleves.exit_dates.get(source_id)
        if exit_date is not None and exit_date <= eleves.date_export:
            left.append(pupil.eleve_id)
            continue
        if pupil.ine is not None:
            if pupil.ine in ine_owner:
                raise ImportFileRejected(
                    eleves_path,
                    f"element ELEVE ELEVE_ID={source_id!r}",
                    _duplicate_ine_reason(
                        eleves.pupils[ine_owner[pupil.ine]], pupil, ine_owner
                    ),
                )
            ine_owner[pupil.ine] = source_id
        enrolled[source_id] = pupil

    links: dict[str, list[LinkRecord]] = {source_id: [] for source_id in enrolled}
    represented: dict[str, ResponsableRecord] = {}
    for link in responsables.links:
        if link.personne_id not in responsables.personnes:
            raise ImportFileRejected(
                responsables_path,
                _link_location(link.eleve_id, link.personne_id),
                "PERSONNE_ID not found among the PERSONNE elements",
            )
        # Links of pupils who left, or who are absent from the pupils' file,
        # are dropped with them.
        if not link.legal or link.eleve_id not in enrolled:
            continue
        personne = responsables.personnes[link.personne_id]
        links[link.eleve_id].append(
            LinkRecord(personne.responsable_id, link.code_parente)
        )
        represented[link.personne_id] = personne

    return SchoolExport(
        source="siecle",
        uai=eleves.uai,
        # NOTE: an enrolled pupil without a division is kept with an empty
        # class, so that one pupil not yet placed does not stop the school's
        # import. Subscribers see "" until the division is exported.
        eleves=tuple(
            pupil.with_links(
                tuple(links[source_id]), eleves.divisions.get(source_id, "")
            )
            for source_id, pupil in enrolled.items()
        ),
        responsables=tuple(represented.values()),
        left_eleve_ids=tuple(left),
    )


def _duplicate_ine_reason(
    earlier: EleveRecord, pupil: EleveRecord, ine_owner: dict[str, str]
) -> str:
    # Names stay out of the message, because they would reach the logs.
    both = f"ELEVE_ID {ine_owner[pupil.ine]!r} and {pupil.source_eleve_id!r}"
    if (name_key(earlier.nom), name_key(earlier.prenom)) == (
        name_key(pupil.nom),
        name_key(pupil.prenom),
    ):
        return f"duplicate INE: {both} have the same INE"
    return (
        f"duplicate INE with different names: {both}; two pupils are never "
        "merged, so correct the INE of one of them in SIECLE"
    )


def _check(
    value: str, known: frozenset[str], tag: str, path: Path, location: str
) -> str:
    try:
        check_code(value.upper(), known, tag)
    except ValueError as exc:
        raise ImportFileRejected(path, location, str(exc)) from None
    return value


@contextmanager
def _open_xml(path: Path, limits: ReadLimits) -> Iterator["_GuardedStream"]:
    """Open ``path``, or the one file of the ``.zip`` archive ``path``, as
    bytes whose reading stops at ``limits``."""
    if path.suffix.lower() != ".zip":
        with path.open("rb") as stream:
            yield _GuardedStream(stream, path, limits.max_xml_bytes)
        return

    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise ImportFileRejected(path, "archive", f"invalid zip file: {exc}") from None
    with archive:
        members = [info for info in archive.infolist() if not info.is_dir()]
        if len(members) != 1:
            raise ImportFileRejected(
                path, "archive", f"expected one XML file, found {len(members)} files"
            )
        member = members[0]
        location = f"archive member {member.filename!r}"
        if member.file_size > limits.max_xml_bytes:
            raise ImportFileRejected(
                path,
                location,
                f"uncompressed size {member.file_size} bytes is over the "
                f"{limits.max_xml_bytes} allowed (IMPORTER_MAX_XML_BYTES)",
            )
        ratio = member.file_size / max(member.compress_size, 1)
        if ratio > limits.max_compression_ratio:
            raise ImportFileRejected(
                path,
                location,
                f"compression ratio {ratio:.0f} is over the "
                f"{limits.max_compression_ratio:g} allowed "
                "(IMPORTER_MAX_COMPRESSION_RATIO): not a SIECLE export",
            )
        with archive.open(member) as stream:
            yield _GuardedStream(stream, path, limits.max_xml_bytes)


# The name of a tag after its "<" ("/NOM" for an end tag), at most 64 bytes.
_TAG_NAME = re.compile(rb"/?[^\s/>]{0,64}")


class _GuardedStream:
    """A binary stream that rejects its file once more than ``max_bytes``
    are read, or once a run of bytes without '<' grows longer than
    ``MAX_TEXT_RUN_BYTES``."""

    def __init__(self, stream: BinaryIO, path: Path, max_bytes: int) -> None:
        self._stream = stream
        self._path = path
        self._max_bytes = max_bytes
        self._read = 0
        self._lines = 1
        self._run = 0
        self._last_tag = b""

    def read(self, size: int = -1) -> bytes:
        """Read at most ``size`` bytes, checking both limits."""
        if size < 0 or size > MAX_TEXT_RUN_BYTES:
            size = MAX_TEXT_RUN_BYTES
        data = self._stream.read(size)
        self._read += len(data)
        if self._read > self._max_bytes:
            raise ImportFileRejected(
                self._path,
                f"line {self._lines}",
                f"more than {self._max_bytes} bytes of XML (IMPORTER_MAX_XML_BYTES)",
            )
        first = data.find(b"<")
        end = len(data) if first == -1 else first
        self._run += end
        if self._run > MAX_TEXT_RUN_BYTES:
            line = self._lines + data.count(b"\n", 0, end)
            tag = self._last_tag.decode("ascii", "replace")
            raise ImportFileRejected(
                self._path,
                f"line {line}",
                f"more than {MAX_TEXT_RUN_BYTES} bytes of text or blanks after "
                f"<{tag}>: the file is not a SIECLE export, or is damaged",
            )
        if first != -1:
            last = data.rfind(b"<")
            self._run = len(data) - last - 1
            self._last_tag = _TAG_NAME.match(data, last + 1).group()
        self._lines += data.count(b"\n")
        return data


def _iter_records(
    path: Path, root_tag: str, limits: ReadLimits
) -> Iterator[ElementTree.Element]:
    """Yield ``PARAMETRES`` and every record under ``DONNEES/<list>/`` (ELEVE,
    STRUCTURES_ELEVE, PERSONNE, RESPONSABLE_ELEVE, ADRESSE…), in file order.

    The file is fed to the parser in chunks. After each chunk, the records
    that are complete (those followed by another element) are yielded and
    detached from the tree, so the tree contains at most one chunk's
    elements and the record still open.
    """
    parser = ElementTree.XMLParser(target=ElementTree.TreeBuilder())
    # Start events are reported until the root element is seen, then not at
    # all, because the records are found by walking the tree. On the
    # benchmark's files that took about a sixth less processor time than
    # handling an event per element. ``_setevents`` is not documented: it is
    # the call ``XMLPullParser`` makes.
    started: deque[tuple[str, ElementTree.Element]] = deque()
    parser._setevents(started, ("start",))
    root: ElementTree.Element | None = None
    with _open_xml(path, limits) as stream:
        try:
            while data := stream.read(_CHUNK_BYTES):
                broken = None
                try:
                    parser.feed(data)
                except ElementTree.ParseError as exc:
                    broken = exc
                # A wrong root is reported first, then the records read
                # before broken XML, in the file's order.
                if root is None and started:
                    root = _root(started, root_tag, path)
                    parser._setevents(started, ())
                if root is not None:
                    for record in _complete_records(root, final=False):
                        _check_texts(record, path)
                        yield record
                if broken is not None:
                    raise broken
            parser.close()
        except ElementTree.ParseError as exc:
            line, column = exc.position
            raise ImportFileRejected(
                path,
                f"line {line}, column {column}",
                f"broken XML: {expat.ErrorString(exc.code)}",
            ) from None
        except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
            raise ImportFileRejected(
                path, "archive", f"corrupt zip member: {exc}"
            ) from None
        except LookupError as exc:
            raise ImportFileRejected(
                path,
                "XML declaration",
                f"{exc}: export the file again in ISO-8859-15 or UTF-8",
            ) from None
    # A document that closes without a parse error has a root element.
    assert root is not None
    for record in _complete_records(root, final=True):
        _check_texts(record, path)
        yield record


# Bytes fed to the parser at a time, as ``iterparse`` reads them. A size
# limit or a damaged archive is found when its chunk is read, so a smaller
# chunk reports fewer of them before a record error earlier in the file.
_CHUNK_BYTES = 16 * 1024


def _root(
    started: deque[tuple[str, ElementTree.Element]], root_tag: str, path: Path
) -> ElementTree.Element:
    root = started[0][1]
    started.clear()
    if root.tag != root_tag:
        raise ImportFileRejected(
            path,
            f"element {root.tag}",
            f"unexpected root element: expected {root_tag}",
        )
    return root


def _complete_records(
    root: ElementTree.Element, *, final: bool
) -> Iterator[ElementTree.Element]:
    """Yield, in file order, ``root``'s ``PARAMETRES`` and the records of its
    ``DONNEES`` lists that the parser has finished, then detach every
    finished element from the tree. With ``final`` false, the last element
    of each level may still be open, so it waits for the next call.

    Finished elements that are not records (another list, an unknown
    element under the root) are detached too, so that each call walks at
    most one chunk's elements, whatever the file contains.
    """
    children = list(root)
    finished = len(children) if final else len(children) - 1
    for index, child in enumerate(children):
        complete = index < finished
        if child.tag == "PARAMETRES":
            if complete:
                yield child
        elif child.tag == "DONNEES":
            lists = list(child)
            lists_finished = len(lists) if complete else len(lists) - 1
            for list_index, records in enumerate(lists):
                done = len(records)
                if list_index >= lists_finished:
                    done -= 1
                if done > 0:
                    yield from records[:done]
                    del records[:done]
            if lists_finished > 0:
                del child[:lists_finished]
    if finished > 0:
        del root[:finished]


def _check_texts(record: ElementTree.Element, path: Path) -> None:
    """Reject a record whose attributes or element texts are double-encoded,
    too long or contain a control character, naming the element and field."""
    attributes = record.items()
    if _texts_pass(record, attributes):
        return
    location = f"element {record.tag}"
    for name, value in attributes:
        _check_field(value, f"attribute {name}", name, path, location)
    ids = " ".join(f"{name}={value!r}" for name, value in record.items())
    location = f"{location} {ids}".rstrip()
    for element in record.iter():
        text = (element.text or "").strip()
        if text:
            where = (
                location if element is record else f"{location}, child {element.tag}"
            )
            _check_field(text, element.tag, element.tag, path, where)


def _texts_pass(record: ElementTree.Element, attributes: list[tuple[str, str]]) -> bool:
    # Checks a record whose fields are all fine without one call per field.
    values = []
    for name, value in attributes:
        if len(value) > MAX_LENGTHS.get(name, MAX_OTHER):
            return False
        values.append(value)
    for element in record.iter():
        text = element.text
        if text:
            text = text.strip()
            if len(text) > MAX_LENGTHS.get(element.tag, MAX_OTHER):
                return False
            values.append(text)
    return texts_pass(values)


def _check_field(value: str, field: str, tag: str, path: Path, location: str) -> None:
    pair = find_double_encoding(value)
    if pair is not None:
        raise ImportFileRejected(
            path,
            location,
            double_encoding_reason(
                pair,
                "the file contains UTF-8 text but its prolog declares another "
                "encoding, or its text was converted twice",
            ),
        )
    try:
        check_text(value, field, MAX_LENGTHS.get(tag, MAX_OTHER))
    except ValueError as exc:
        raise ImportFileRejected(path, location, str(exc)) from None


def _attribute(element: ElementTree.Element, name: str, path: Path) -> str:
    value = blank_to_none(element.get(name))
    if value is None:
        raise ImportFileRejected(
            path, f"element {element.tag}", f"missing attribute {name}"
        )
    return value


def _text(element: ElementTree.Element, tag: str) -> str | None:
    # ``blank_to_none`` written out: this runs for every field of a record.
    return element.findtext(tag, "").strip() or None


def _required(element: ElementTree.Element, tag: str, path: Path, location: str) -> str:
    value = _text(element, tag)
    if value is None:
        raise ImportFileRejected(path, location, f"missing or empty {tag}")
    return value


def _family_name(element: ElementTree.Element, path: Path, location: str) -> str:
    value = _text(element, "NOM_DE_FAMILLE") or _text(element, "NOM")
    if value is None:
        raise ImportFileRejected(
            path, location, "missing NOM_DE_FAMILLE (or NOM in the older layout)"
        )
    return value


def _optional_date(
    element: ElementTree.Element, tag: str, path: Path, location: str
) -> date | None:
    value = _text(element, tag)
    if value is None:
        return None
    try:
        return parse_date(value)
    except ValueError as exc:
        raise ImportFileRejected(path, location, f"{exc} ({tag})") from None


def _required_date(
    element: ElementTree.Element, tag: str, path: Path, location: str
) -> date:
    value = _optional_date(element, tag, path, location)
    if value is None:
        raise ImportFileRejected(path, location, f"missing or empty {tag}")
    return value


def _link_location(eleve_id: str | None, personne_id: str | None) -> str:
    return (
        f"element RESPONSABLE_ELEVE ELEVE_ID={eleve_id!r} PERSONNE_ID={personne_id!r}"
    )
