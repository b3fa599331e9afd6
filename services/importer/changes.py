"""Changes of a full import of one scope (académie, source, UAI), compared
with what the importer last published.

Pupils belong to one scope. A responsable may belong to several scopes of a
source (a parent with children in two collèges), so two things are kept for
it: the digest each scope last read, and the digest last published for the
source. A responsable is published again only when its payload differs from
both. Thus a change read in one school is not published a second time by the
next school, and two schools that disagree do not publish in turn every week.
It is removed only when no scope of the source contains it any more.

A delta import applies only what its export names: it adds and changes, and
removes nothing.

The comparison runs in two steps. ``compare_export`` needs only the export
and the scope's digests, so it runs where the files are read, in a reader
worker for a large run: what did not change never leaves the worker.
``compute_changes`` then needs what other scopes of the run have published,
so it runs in the run's process.
"""

from array import array
from collections.abc import Iterator, Mapping, Set
from dataclasses import dataclass, field

from services.importer.mapping import Payload, eleve_payload, responsable_payload
from services.importer.records import SchoolExport
from services.importer.sources import ine_hash
from shared.contracts import Topic
from shared.contracts.events import EleveRemoved, ResponsableRemoved, Source


@dataclass(frozen=True, slots=True)
class Scope:
    """The unit of a full import: one school's export of one source."""

    academie: str
    source: Source
    uai: str


@dataclass(frozen=True, slots=True)
class ScopeDigests:
    """The digests a scope last read, by id: what ``compare_export`` needs."""

    eleves: Mapping[str, str] = field(default_factory=dict)
    responsables: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The stored state of a scope before its import."""

    # eleve_id -> payload digest, for the pupils of this scope.
    eleves: Mapping[str, str] = field(default_factory=dict)
    # responsable_id -> payload digest this scope last read.
    responsables: Mapping[str, str] = field(default_factory=dict)
    # responsable_id -> payload digest last published for the source, for
    # the responsables that the export adds to the scope or changes.
    published: Mapping[str, str] = field(default_factory=dict)
    # eleve_id -> responsable ids of the pupil's links, for this scope.
    eleve_links: Mapping[str, frozenset[str]] = field(default_factory=dict)

    @property
    def digests(self) -> ScopeDigests:
        """The digests the scope last read."""
        return ScopeDigests(self.eleves, self.responsables)


@dataclass(frozen=True, slots=True)
class ExportComparison:
    """The differences between a school's export and its scope's digests."""

    source: Source
    uai: str
    # Pupils in the export.
    eleve_count: int
    # Pupils and responsables that are new to the scope or whose payload
    # differs from the scope's digest, in export order.
    eleves: tuple[Payload, ...] = ()
    responsables: tuple[Payload, ...] = ()
    # Ids of the scope's pupils that the import removes, sorted.
    eleves_removed: tuple[str, ...] = ()
    # Ids of the scope's responsables that a full export no longer has, sorted.
    responsables_left: tuple[str, ...] = ()
    # ``ine_hash`` of every INE of the export (see ``sources.RunIneIndex``).
    ine_hashes: array = field(default_factory=lambda: array("q"))

    def __reduce__(self) -> tuple:
        # A worker sends back every payload of a first import. One column per
        # field took 1.15 µs a payload there and back, against 2.03 µs for
        # one dataclass object each (benchmark files, development machine).
        return (
            _comparison_of_columns,
            (
                self.source,
                self.uai,
                self.eleve_count,
                tuple(zip(*self.eleves, strict=True)),
                tuple(zip(*self.responsables, strict=True)),
                self.eleves_removed,
                self.responsables_left,
                self.ine_hashes,
            ),
        )


def _comparison_of_columns(
    source: Source,
    uai: str,
    eleve_count: int,
    eleves: tuple[tuple, ...],
    responsables: tuple[tuple, ...],
    eleves_removed: tuple[str, ...],
    responsables_left: tuple[str, ...],
    ine_hashes: array,
) -> ExportComparison:
    """Return the comparison that ``ExportComparison.__reduce__`` took apart."""
    return ExportComparison(
        source,
        uai,
        eleve_count,
        tuple(map(Payload._make, zip(*eleves, strict=True))),
        tuple(map(Payload._make, zip(*responsables, strict=True))),
        eleves_removed,
        responsables_left,
        ine_hashes,
    )


def compare_export(
    export: SchoolExport,
    academie: str,
    previous: ScopeDigests,
    *,
    full: bool = True,
) -> ExportComparison:
    """Compare an export with the digests its scope last read.

    A full export removes the pupils it does not contain. A delta (``full``
    false) removes only those of ``export.left_eleve_ids``, the pupils it
    names with an exit date already passed, and no responsable.
    """
    eleves = []
    ine_hashes = array("q")
    present = set()
    for record in export.eleves:
        payload = eleve_payload(record, academie, export.source, export.uai)
        present.add(payload.id)
        if previous.eleves.get(payload.id) != payload.digest:
            eleves.append(payload)
        if record.ine is not None:
            ine_hashes.append(ine_hash(record.ine))
    responsables = []
    listed = set()
    for record in export.responsables:
        payload = responsable_payload(record, academie, export.source)
        listed.add(payload.id)
        if previous.responsables.get(payload.id) != payload.digest:
            responsables.append(payload)

    removed = previous.eleves.keys() - present
    if not full:
        removed &= set(export.left_eleve_ids)
    left = previous.responsables.keys() - listed if full else ()
    return ExportComparison(
        source=export.source,
        uai=export.uai,
        eleve_count=len(export.eleves),
        eleves=tuple(eleves),
        responsables=tuple(responsables),
        eleves_removed=tuple(sorted(removed)),
        responsables_left=tuple(sorted(left)),
        ine_hashes=ine_hashes,
    )


@dataclass(frozen=True, slots=True)
class ScopeChanges:
    """The events one scope's import publishes."""

    scope: Scope
    responsables_added: tuple[Payload, ...] = ()
    responsables_changed: tuple[Payload, ...] = ()
    # Responsables whose digest in the scope's snapshot changes: those
    # published, and those whose payload another scope already published.
    responsables_read: tuple[Payload, ...] = ()
    # Ids of the ``responsables_read`` that the scope's snapshot already
    # contains.
    responsables_reread: frozenset[str] = frozenset()
    responsables_left: tuple[str, ...] = ()
    responsables_removed: tuple[str, ...] = ()
    eleves_added: tuple[Payload, ...] = ()
    eleves_changed: tuple[Payload, ...] = ()
    eleves_removed: tuple[str, ...] = ()
    eleve_count: int = 0
    # Links of the scope before the import, and those the import removes:
    # what the hold of a full import measures.
    links_before: int = 0
    links_removed: int = 0
    eleves_before: int = 0

    def outbox_events(self) -> Iterator[tuple[Topic, str, str, str]]:
        """Yield ``(topic, key, type, JSON payload)`` in the order they must be
        published.

        Responsables come before the pupils that link to them, and removed
        pupils before the responsables they linked to, so a subscriber never
        receives a link to a responsable it has not received.
        """
        scope = self.scope
        for payload in (*self.responsables_added, *self.responsables_changed):
            yield Topic.RESPONSABLES, payload.id, "responsable.imported", payload.json
        for payload in (*self.eleves_added, *self.eleves_changed):
            yield Topic.ELEVES, payload.id, "eleve.imported", payload.json
        for eleve_id in self.eleves_removed:
            event = EleveRemoved(
                academie=scope.academie,
                eleve_id=eleve_id,
                source=scope.source,
                uai=scope.uai,
            )
            yield Topic.ELEVES, eleve_id, event.type, event.model_dump_json()
        for responsable_id in self.responsables_removed:
            yield responsable_removed(scope.academie, scope.source, responsable_id)

    @property
    def is_empty(self) -> bool:
        """Whether the import publishes nothing."""
        return next(self.outbox_events(), None) is None


def responsable_removed(
    academie: str, source: Source, responsable_id: str
) -> tuple[Topic, str, str, str]:
    """Return the outbox entry of a ``ResponsableRemoved`` event."""
    event = ResponsableRemoved(
        academie=academie, responsable_id=responsable_id, source=source
    )
    return Topic.RESPONSABLES, responsable_id, event.type, event.model_dump_json()


def compute_changes(
    scope: Scope,
    comparison: ExportComparison,
    snapshot: Snapshot,
    held_elsewhere: Set[str],
) -> ScopeChanges:
    """Turn a comparison with the scope's digests into the scope's changes.

    ``snapshot.published`` holds the digests last published for the
    responsables of ``comparison``. ``held_elsewhere`` contains the
    responsables that left this scope but that another scope of the source
    contains, in the database or in another export of the same run. They are
    not removed.
    """
    added, changed = [], []
    for payload in comparison.responsables:
        published = snapshot.published.get(payload.id)
        if published is None:
            added.append(payload)
        elif payload.digest != published:
            changed.append(payload)

    eleves_added, eleves_changed = [], []
    links_removed = 0
    for payload in comparison.eleves:
        if payload.id in snapshot.eleves:
            eleves_changed.append(payload)
            before = snapshot.eleve_links.get(payload.id, frozenset())
            links_removed += len(before.difference(payload.links))
        else:
            eleves_added.append(payload)
    for eleve_id in comparison.eleves_removed:
        links_removed += len(snapshot.eleve_links.get(eleve_id, ()))

    return ScopeChanges(
        scope=scope,
        responsables_added=tuple(added),
        responsables_changed=tuple(changed),
        responsables_read=comparison.responsables,
        responsables_reread=frozenset(
            payload.id
            for payload in comparison.responsables
            if payload.id in snapshot.responsables
        ),
        responsables_left=comparison.responsables_left,
        responsables_removed=tuple(
            id_ for id_ in comparison.responsables_left if id_ not in held_elsewhere
        ),
        eleves_added=tuple(eleves_added),
        eleves_changed=tuple(eleves_changed),
        eleves_removed=comparison.eleves_removed,
        eleve_count=comparison.eleve_count,
        links_before=sum(map(len, snapshot.eleve_links.values())),
        links_removed=links_removed,
        eleves_before=len(snapshot.eleves),
    )
