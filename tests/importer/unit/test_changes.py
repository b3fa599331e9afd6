import json
from datetime import date

import pytest

from services.importer.changes import (
    Scope,
    ScopeChanges,
    Snapshot,
    compare_export,
    compute_changes,
)
from services.importer.mapping import eleve_payload, responsable_payload
from services.importer.records import (
    EleveRecord,
    LinkRecord,
    ResponsableRecord,
    SchoolExport,
)
from services.importer.snapshot import joined_ids
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
    eleves: list[EleveRecord],
    responsables: list[ResponsableRecord],
    scope=SCOPE,
    left: tuple[str, ...] = (),
) -> SchoolExport:
    return SchoolExport(
        scope.source, scope.uai, tuple(eleves), tuple(responsables), left
    )


def changes_of(
    school: SchoolExport,
    snapshot: Snapshot = EMPTY,
    held_elsewhere: frozenset[str] = frozenset(),
    scope: Scope = SCOPE,
    full: bool = True,
) -> ScopeChanges:
    comparison = compare_export(school, scope.academie, snapshot.digests, full=full)
    return compute_changes(scope, comparison, snapshot, held_elsewhere)


def responsable_digests(school: SchoolExport) -> dict[str, str]:
    payloads = (
        responsable_payload(record, SCOPE.academie, school.source)
        for record in school.responsables
    )
    return {payload.id: payload.digest for payload in payloads}


def snapshot_after(
    school: SchoolExport, published: dict[str, str] | None = None
) -> Snapshot:
    """The snapshot of a scope once ``school`` is imported."""
    eleves = [
        eleve_payload(record, SCOPE.academie, school.source, school.uai)
        for record in school.eleves
    ]
    responsables = responsable_digests(school)
    return Snapshot(
        eleves={payload.id: payload.digest for payload in eleves},
        responsables=responsables,
        published=published if published is not None else responsables,
        eleve_links={payload.id: frozenset(payload.links) for payload in eleves},
    )


WEEK1 = export(
    [pupil("9900000014R", "siecle:7100001", "siecle:7100002")], [mother(), father()]
)


def test_first_import_adds_everything():
    changes = changes_of(WEEK1)

    assert [p.id for p in changes.responsables_added] == [
        "siecle:7100001",
        "siecle:7100002",
    ]
    assert [p.id for p in changes.eleves_added] == ["9900000014R"]
    assert not changes.eleves_removed


def test_same_export_again_changes_nothing():
    second = changes_of(WEEK1, snapshot_after(WEEK1))

    assert second.is_empty
    assert second.responsables_read == ()


def test_link_order_is_not_a_change():
    reordered = export(
        [pupil("9900000014R", "siecle:7100002", "siecle:7100001")], [father(), mother()]
    )

    assert changes_of(reordered, snapshot_after(WEEK1)).is_empty


def test_changed_email_republishes_responsable_only():
    week2 = export(WEEK1.eleves, [mother("claire.pro@example.com"), father()])

    changes = changes_of(week2, snapshot_after(WEEK1))

    assert [json.loads(p.json)["email"] for p in changes.responsables_changed] == [
        "claire.pro@example.com"
    ]
    assert not changes.eleves_changed


def test_link_change_republishes_pupil_and_removes_father():
    week2 = export([pupil("9900000014R", "siecle:7100001")], [mother()])

    changes = changes_of(week2, snapshot_after(WEEK1))

    assert [p.id for p in changes.eleves_changed] == ["9900000014R"]
    assert changes.responsables_removed == ("siecle:7100002",)
    assert (changes.links_before, changes.links_removed) == (2, 1)


def test_vanished_pupil_is_removed_with_its_school():
    changes = changes_of(export([], []), snapshot_after(WEEK1))

    assert changes.eleves_removed == ("9900000014R",)
    removed = [json.loads(p) for *_, p in changes.outbox_events()][0]
    assert (removed["type"], removed["uai"]) == ("eleve.removed", "0999101E")


def test_responsable_held_by_other_scope_is_not_removed():
    changes = changes_of(
        export([], []),
        snapshot_after(WEEK1),
        held_elsewhere=frozenset({"siecle:7100001"}),
    )

    assert changes.responsables_removed == ("siecle:7100002",)


def test_responsable_published_by_other_scope_is_not_republished():
    other = export([pupil("9900000011P", "siecle:7100001")], [mother()], OTHER_SCOPE)

    changes = changes_of(WEEK1, Snapshot(published=responsable_digests(other)))

    assert [p.id for p in changes.responsables_added] == ["siecle:7100002"]
    assert not changes.responsables_changed
    assert [p.id for p in changes.responsables_read] == [
        "siecle:7100001",
        "siecle:7100002",
    ]


def test_change_from_other_scope_not_republished():
    week2 = export(WEEK1.eleves, [mother("claire.pro@example.com"), father()])

    changes = changes_of(
        week2, snapshot_after(WEEK1, published=responsable_digests(week2))
    )

    assert changes.is_empty
    assert [p.id for p in changes.responsables_read] == ["siecle:7100001"]


def test_scopes_that_disagree_do_not_republish_in_turn():
    published_by_other = {
        **responsable_digests(WEEK1),
        "siecle:7100001": "digest of another e-mail",
    }

    changes = changes_of(WEEK1, snapshot_after(WEEK1, published=published_by_other))

    assert changes.is_empty


def test_outbox_order_puts_responsables_around_pupils():
    week2 = export(
        [pupil("9900000072J", "siecle:7100003")],
        [ResponsableRecord("siecle:7100003", "M.", "MOREL", "Jean")],
    )

    changes = changes_of(week2, snapshot_after(WEEK1))
    order = [(topic, type_) for topic, _, type_, _ in changes.outbox_events()]

    assert order == [
        (Topic.RESPONSABLES, "responsable.imported"),
        (Topic.ELEVES, "eleve.imported"),
        (Topic.ELEVES, "eleve.removed"),
        (Topic.RESPONSABLES, "responsable.removed"),
        (Topic.RESPONSABLES, "responsable.removed"),
    ]


def test_outbox_keys_are_the_ids():
    changes = changes_of(WEEK1)

    keys = [(topic, key) for topic, key, *_ in changes.outbox_events()]

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
    before = snapshot_after(two)

    unnamed = changes_of(export([], []), before, full=False)
    named = changes_of(export([], [], left=("9900000015S",)), before, full=False)

    assert unnamed.is_empty
    assert named.eleves_removed == ("9900000015S",)
    assert named.responsables_removed == ()
    assert named.responsables_left == ()


@pytest.mark.parametrize(
    ("values", "expected"),
    [([], ""), (["siecle:1"], "siecle:1"), (("a", "b", "c"), "a\x1fb\x1fc")],
)
def test_joined_ids_split_back(values, expected):
    assert joined_ids(values) == expected


@pytest.mark.parametrize("values", [[""], ["a", ""], ["a\x1fb"], ["a", "\x1f"]])
def test_joined_ids_rejects_empty_or_separator(values):
    with pytest.raises(ValueError, match="U\\+001F"):
        joined_ids(values)
