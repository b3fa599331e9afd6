from datetime import date

from services.importer.changes import Scope, ScopeChanges, Snapshot, compute_changes
from services.importer.mapping import eleve_events, payload_digest, responsable_events
from services.importer.records import (
    EleveRecord,
    LinkRecord,
    ResponsableRecord,
    SchoolExport,
)
from shared.contracts import Topic

SCOPE = Scope("versailles", "siecle", "0999101E")
EMPTY = Snapshot()
OTHER_SCOPE = Scope("versailles", "siecle", "0999102F")


def mother(email: str = "claire.morel@example.org") -> ResponsableRecord:
    return ResponsableRecord("siecle:7100001", "MME", "MOREL", "Claire", email)


def father() -> ResponsableRecord:
    return ResponsableRecord("siecle:7100002", "M.", "MOREL", "Paul")


def pupil(ine: str, *responsables: str, classe: str = "5A") -> EleveRecord:
    return EleveRecord(
        eleve_id=ine,
        ine=ine,
        source_eleve_id=None,
        nom="MOREL",
        nom_usage=None,
        prenom="Zoé",
        date_naissance=date(2013, 3, 14),
        classe=classe,
        responsables=tuple(LinkRecord(r, "10") for r in responsables),
    )


def export(
    eleves: list[EleveRecord], responsables: list[ResponsableRecord], scope=SCOPE
) -> SchoolExport:
    return SchoolExport(scope.source, scope.uai, tuple(eleves), tuple(responsables))


def changes_of(
    school: SchoolExport,
    snapshot: Snapshot = EMPTY,
    held_elsewhere: frozenset[str] = frozenset(),
    scope: Scope = SCOPE,
) -> ScopeChanges:
    return compute_changes(
        scope,
        responsable_events(school, scope.academie),
        eleve_events(school, scope.academie),
        snapshot,
        held_elsewhere,
    )


def snapshot_after(
    changes: ScopeChanges, published: dict[str, str] | None = None
) -> Snapshot:
    return Snapshot(
        eleves=changes.eleve_digests,
        responsables=changes.responsable_digests,
        published=published if published is not None else changes.responsable_digests,
    )


WEEK1 = export(
    [pupil("9900000014R", "siecle:7100001", "siecle:7100002")], [mother(), father()]
)


def test_first_import_adds_everything():
    changes = changes_of(WEEK1)

    assert [e.responsable_id for e in changes.responsables_added] == [
        "siecle:7100001",
        "siecle:7100002",
    ]
    assert [e.eleve_id for e in changes.eleves_added] == ["9900000014R"]
    assert not changes.eleves_removed


def test_same_export_again_changes_nothing():
    first = changes_of(WEEK1)

    second = changes_of(WEEK1, snapshot_after(first))

    assert second.is_empty


def test_link_order_is_not_a_change():
    first = changes_of(WEEK1)
    reordered = export(
        [pupil("9900000014R", "siecle:7100002", "siecle:7100001")], [father(), mother()]
    )

    assert changes_of(reordered, snapshot_after(first)).is_empty


def test_changed_email_republishes_responsable_only():
    first = changes_of(WEEK1)
    week2 = export(WEEK1.eleves, [mother("claire.pro@example.com"), father()])

    changes = changes_of(week2, snapshot_after(first))

    assert [e.email for e in changes.responsables_changed] == ["claire.pro@example.com"]
    assert not changes.eleves_changed


def test_link_change_republishes_pupil_and_removes_father():
    first = changes_of(WEEK1)
    week2 = export([pupil("9900000014R", "siecle:7100001")], [mother()])

    changes = changes_of(week2, snapshot_after(first))

    assert [e.eleve_id for e in changes.eleves_changed] == ["9900000014R"]
    assert [e.responsable_id for e in changes.responsables_removed] == [
        "siecle:7100002"
    ]


def test_vanished_pupil_is_removed_with_its_school():
    first = changes_of(WEEK1)

    changes = changes_of(export([], []), snapshot_after(first))

    assert [(e.eleve_id, e.uai) for e in changes.eleves_removed] == [
        ("9900000014R", "0999101E")
    ]


def test_responsable_held_by_other_scope_is_not_removed():
    first = changes_of(WEEK1)

    changes = changes_of(
        export([], []),
        snapshot_after(first),
        held_elsewhere=frozenset({"siecle:7100001"}),
    )

    assert [e.responsable_id for e in changes.responsables_removed] == [
        "siecle:7100002"
    ]


def test_responsable_published_by_other_scope_is_not_republished():
    other = export([pupil("9900000011P", "siecle:7100001")], [mother()], OTHER_SCOPE)
    published = changes_of(other, scope=OTHER_SCOPE).responsable_digests

    changes = changes_of(WEEK1, Snapshot(published=published))

    assert [e.responsable_id for e in changes.responsables_added] == ["siecle:7100002"]
    assert not changes.responsables_changed


def test_change_from_other_scope_not_republished():
    first = changes_of(WEEK1)
    week2 = export(WEEK1.eleves, [mother("claire.pro@example.com"), father()])
    published_by_other = {
        **first.responsable_digests,
        "siecle:7100001": payload_digest(
            responsable_events(week2, "versailles")["siecle:7100001"]
        ),
    }

    changes = changes_of(week2, snapshot_after(first, published=published_by_other))

    assert changes.is_empty


def test_scopes_that_disagree_do_not_republish_in_turn():
    first = changes_of(WEEK1)
    published_by_other = {
        **first.responsable_digests,
        "siecle:7100001": "digest of another e-mail",
    }

    changes = changes_of(WEEK1, snapshot_after(first, published=published_by_other))

    assert changes.is_empty


def test_outbox_order_puts_responsables_around_pupils():
    first = changes_of(WEEK1)
    week2 = export(
        [pupil("9900000072J", "siecle:7100003")],
        [ResponsableRecord("siecle:7100003", "M.", "MOREL", "Jean")],
    )

    changes = changes_of(week2, snapshot_after(first))
    order = [(topic, event.type) for topic, _, event in changes.outbox_events()]

    assert order == [
        (Topic.RESPONSABLES, "responsable.imported"),
        (Topic.ELEVES, "eleve.imported"),
        (Topic.ELEVES, "eleve.removed"),
        (Topic.RESPONSABLES, "responsable.removed"),
        (Topic.RESPONSABLES, "responsable.removed"),
    ]


def test_outbox_keys_are_the_ids():
    changes = changes_of(WEEK1)

    keys = [(topic, key) for topic, key, _ in changes.outbox_events()]

    assert keys == [
        (Topic.RESPONSABLES, "siecle:7100001"),
        (Topic.RESPONSABLES, "siecle:7100002"),
        (Topic.ELEVES, "9900000014R"),
    ]


def test_delta_removes_only_pupils_named_as_left():
    two = export(
        [
            pupil("9900000014R", "siecle:7100001"),
            pupil("9900000015S", "siecle:7100001"),
        ],
        [mother()],
    )
    before = snapshot_after(changes_of(two))

    unnamed = compute_changes(SCOPE, {}, {}, before, frozenset(), full=False)
    named = compute_changes(
        SCOPE,
        {},
        {},
        before,
        frozenset(),
        full=False,
        left_eleve_ids=frozenset({"9900000015S"}),
    )

    assert unnamed.is_empty
    assert [event.eleve_id for event in named.eleves_removed] == ["9900000015S"]
    assert named.responsables_removed == ()
