"""The payloads the importer writes from its records are the JSON of the
events' models, byte for byte, so digests and published payloads agree with
the contract whichever way they are made."""

import pickle
from array import array

from hypothesis import given
from hypothesis import strategies as st

from services.importer.changes import ExportComparison
from services.importer.mapping import Payload, eleve_payload, responsable_payload
from services.importer.records import EleveRecord, LinkRecord, ResponsableRecord
from shared.contracts.events import EleveImported, EleveLink, ResponsableImported

# Any character but lone surrogates, which no decoded file contains:
# accents, quotes, backslashes and control characters, which JSON escapes.
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=30)
OPTIONAL = st.none() | TEXT
INE = st.from_regex(r"\A[0-9A-Z]{10}[A-Z]\Z")
LINKS = st.lists(
    st.builds(LinkRecord, TEXT, st.none() | st.from_regex(r"\A[0-9]{2}\Z")),
    max_size=4,
    unique_by=lambda link: link.responsable_id,
)
PUPILS = st.builds(
    EleveRecord,
    eleve_id=TEXT,
    ine=st.none() | INE,
    source_eleve_id=OPTIONAL,
    nom=TEXT,
    nom_usage=OPTIONAL,
    prenom=TEXT,
    date_naissance=st.dates(),
    classe=st.text(max_size=10),
    responsables=LINKS.map(tuple),
)
RESPONSABLES = st.builds(
    ResponsableRecord,
    responsable_id=TEXT,
    civilite=st.sampled_from(["M.", "MME"]),
    nom=TEXT,
    prenom=TEXT,
    email=OPTIONAL,
    telephone_portable=OPTIONAL,
)


@given(PUPILS, st.sampled_from(["siecle", "onde"]))
def test_pupil_payload_is_event_json(record, source):
    payload = eleve_payload(record, "versailles", source, "0999101E")

    event = EleveImported(
        academie="versailles",
        eleve_id=record.eleve_id,
        ine=record.ine,
        source=source,
        source_eleve_id=record.source_eleve_id,
        uai="0999101E",
        classe=record.classe,
        nom=record.nom,
        nom_usage=record.nom_usage,
        prenom=record.prenom,
        date_naissance=record.date_naissance,
        responsables=[
            EleveLink(
                responsable_id=link.responsable_id, code_parente=link.code_parente
            )
            for link in sorted(record.responsables, key=lambda x: x.responsable_id)
        ],
    )
    assert payload.json == event.model_dump_json()
    assert payload.links == tuple(link.responsable_id for link in event.responsables)


@given(RESPONSABLES)
def test_responsable_payload_is_event_json(record):
    payload = responsable_payload(record, "versailles", "siecle")

    event = ResponsableImported(
        academie="versailles",
        responsable_id=record.responsable_id,
        source="siecle",
        civilite=record.civilite,
        nom=record.nom,
        prenom=record.prenom,
        email=record.email,
        telephone_portable=record.telephone_portable,
    )
    assert payload.json == event.model_dump_json()


@given(st.lists(PUPILS, max_size=5), st.lists(RESPONSABLES, max_size=5))
def test_comparison_survives_pickling(pupils, responsables):
    # Reader workers send their comparisons to the run's process pickled,
    # one column of payload fields at a time.
    comparison = ExportComparison(
        source="siecle",
        uai="0999101E",
        eleve_count=len(pupils),
        eleves=tuple(
            eleve_payload(record, "versailles", "siecle", "0999101E")
            for record in pupils
        ),
        responsables=tuple(
            responsable_payload(record, "versailles", "siecle")
            for record in responsables
        ),
        eleves_removed=("1234567890A",),
        responsables_left=("siecle:7",),
        ine_hashes=array("q", [3, -5]),
    )

    received = pickle.loads(pickle.dumps(comparison))

    assert received == comparison
    assert all(
        type(payload) is Payload
        for payload in (*received.eleves, *received.responsables)
    )
