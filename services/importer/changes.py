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
"""

from collections.abc import Iterator, Mapping, Set
from dataclasses import dataclass, field

from pydantic import BaseModel

from services.importer.mapping import payload_digest
from shared.contracts import Topic
from shared.contracts.events import (
    EleveImported,
    EleveRemoved,
    ResponsableImported,
    ResponsableRemoved,
    Source,
)


@dataclass(frozen=True, slots=True)
class Scope:
    """The unit of a full import: one school's export of one source."""

    academie: str
    source: Source
    uai: str


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The stored state of a scope before its import."""

    # eleve_id -> payload digest, for the pupils of this scope.
    eleves: Mapping[str, str] = field(default_factory=dict)
    # responsable_id -> payload digest this scope last read.
    responsables: Mapping[str, str] = field(default_factory=dict)
    # responsable_id -> payload digest last published for the source, for
    # the responsables of the new export.
    published: Mapping[str, str] = field(default_factory=dict)
    # eleve_id -> responsable ids of the pupil's links, for this scope.
    eleve_links: Mapping[str, frozenset[str]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ScopeChanges:
    """The events one scope's import publishes, and the digests of its new
    state."""

    scope: Scope
    responsables_added: tuple[ResponsableImported, ...] = ()
    responsables_changed: tuple[ResponsableImported, ...] = ()
    responsables_removed: tuple[ResponsableRemoved, ...] = ()
    eleves_added: tuple[EleveImported, ...] = ()
    eleves_changed: tuple[EleveImported, ...] = ()
    eleves_removed: tuple[EleveRemoved, ...] = ()
    # Digests of the export, by id: the scope's snapshot after the import.
    eleve_digests: Mapping[str, str] = field(default_factory=dict)
    responsable_digests: Mapping[str, str] = field(default_factory=dict)
    # Links of the scope before the import, and those the import removes:
    # what the hold of a full import measures.
    links_before: int = 0
    links_removed: int = 0
    eleves_before: int = 0

    def outbox_events(self) -> Iterator[tuple[Topic, str, BaseModel]]:
        """Yield ``(topic, key, event)`` in the order they must be published.

        Responsables come before the pupils that link to them, and removed
        pupils before the responsables they linked to, so a subscriber never
        receives a link to a responsable it has not received.
        """
        for event in (*self.responsables_added, *self.responsables_changed):
            yield Topic.RESPONSABLES, event.responsable_id, event
        for event in (*self.eleves_added, *self.eleves_changed, *self.eleves_removed):
            yield Topic.ELEVES, event.eleve_id, event
        for event in self.responsables_removed:
            yield Topic.RESPONSABLES, event.responsable_id, event

    @property
    def is_empty(self) -> bool:
        """Whether the import publishes nothing."""
        return next(self.outbox_events(), None) is None


def compute_changes(
    scope: Scope,
    responsables: Mapping[str, ResponsableImported],
    eleves: Mapping[str, EleveImported],
    snapshot: Snapshot,
    held_elsewhere: Set[str],
    *,
    full: bool = True,
    left_eleve_ids: Set[str] = frozenset(),
) -> ScopeChanges:
    """Compare the events of a new export with the scope's snapshot.

    ``held_elsewhere`` contains the responsables that left this scope but that
    another scope of the source contains, in the database or in another
    export of the same run. They are not removed. When ``full`` is false the
    export is a delta: it removes only the pupils of ``left_eleve_ids``, those
    it names with an exit date already passed, and nothing it does not name.
    """
    responsable_digests = {id_: payload_digest(e) for id_, e in responsables.items()}
    added, changed = [], []
    for responsable_id, digest in responsable_digests.items():
        published = snapshot.published.get(responsable_id)
        if published is None:
            added.append(responsables[responsable_id])
        elif digest not in (published, snapshot.responsables.get(responsable_id)):
            changed.append(responsables[responsable_id])

    left = snapshot.responsables.keys() - responsable_digests.keys() if full else ()
    removed = [
        ResponsableRemoved(
            academie=scope.academie, responsable_id=responsable_id, source=scope.source
        )
        for responsable_id in sorted(set(left) - held_elsewhere)
    ]

    eleve_digests = {eleve_id: payload_digest(e) for eleve_id, e in eleves.items()}
    eleves_added = [eleves[i] for i in eleve_digests if i not in snapshot.eleves]
    eleves_changed = [
        eleves[i]
        for i, digest in eleve_digests.items()
        if i in snapshot.eleves and snapshot.eleves[i] != digest
    ]
    eleves_removed = [
        EleveRemoved(
            academie=scope.academie,
            eleve_id=eleve_id,
            source=scope.source,
            uai=scope.uai,
        )
        for eleve_id in sorted(snapshot.eleves.keys() - eleve_digests.keys())
        if full or eleve_id in left_eleve_ids
    ]
    links_removed = sum(
        len(links - _link_ids(eleves.get(eleve_id)))
        for eleve_id, links in snapshot.eleve_links.items()
        if full or eleve_id in eleves or eleve_id in left_eleve_ids
    )

    return ScopeChanges(
        scope=scope,
        responsables_added=tuple(added),
        responsables_changed=tuple(changed),
        responsables_removed=tuple(removed),
        eleves_added=tuple(eleves_added),
        eleves_changed=tuple(eleves_changed),
        eleves_removed=tuple(eleves_removed),
        eleve_digests=eleve_digests,
        responsable_digests=responsable_digests,
        links_before=sum(map(len, snapshot.eleve_links.values())),
        links_removed=links_removed,
        eleves_before=len(snapshot.eleves),
    )


def link_ids(event: EleveImported) -> frozenset[str]:
    """Return the responsable ids of a pupil's links."""
    return frozenset(link.responsable_id for link in event.responsables)


def _link_ids(event: EleveImported | None) -> frozenset[str]:
    return frozenset() if event is None else link_ids(event)
