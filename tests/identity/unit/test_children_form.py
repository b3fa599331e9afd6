import uuid
from datetime import date

from starlette.datastructures import FormData

from services.identity.forms import (
    MESSAGES,
    UNKNOWN_DECISION_ERROR,
    ChildrenForm,
    decision_message,
)
from services.identity.links_client import Link


def make_link(prenom: str, state: str) -> Link:
    return Link(
        link_id=uuid.uuid4(),
        state=state,
        source="siecle",
        eleve_id=f"ine-{prenom}",
        nom="BERNARD",
        prenom=prenom,
        uai="0999101E",
        classe="5A",
    )


def test_refused_child_defaults_to_non():
    proposed, refused = make_link("Rémi", "proposed"), make_link("Léa", "refused")

    form = ChildrenForm.blank([proposed, refused])

    assert form.answers[proposed.link_id].choice == "oui"
    assert form.answers[refused.link_id].choice == "non"


def test_changes_skip_a_refusal_already_made():
    proposed, refused = make_link("Rémi", "proposed"), make_link("Léa", "refused")
    data = FormData(
        {f"choix-{proposed.link_id}": "non", f"choix-{refused.link_id}": "non"}
    )

    changes = ChildrenForm.read(data, [proposed, refused]).changes([proposed, refused])

    assert [(c.link_id, c.decision) for c in changes] == [(proposed.link_id, "refuse")]


def test_oui_confirms_refused_child():
    refused = make_link("Léa", "refused")
    data = FormData(
        {
            f"choix-{refused.link_id}": "oui",
            f"naissance-{refused.link_id}": "05/12/2014",
        }
    )

    form = ChildrenForm.read(data, [refused])

    assert form.errors() == {}
    [change] = form.changes([refused])
    assert change.decision == "confirm"
    assert change.date_naissance == date(2014, 12, 5)


def test_oui_without_birth_date_is_an_error():
    proposed = make_link("Rémi", "proposed")
    data = FormData({f"choix-{proposed.link_id}": "oui"})

    errors = ChildrenForm.read(data, [proposed]).errors()

    assert errors == {f"naissance-{proposed.link_id}": MESSAGES["birth_date_missing"]}


def test_choices_on_other_links_are_ignored():
    mine = make_link("Rémi", "proposed")
    other = uuid.uuid4()
    data = FormData({f"choix-{mine.link_id}": "non", f"choix-{other}": "oui"})

    form = ChildrenForm.read(data, [mine])

    assert set(form.answers) == {mine.link_id}


def test_form_survives_the_session_round_trip():
    proposed = make_link("Rémi", "proposed")
    data = FormData(
        {
            f"choix-{proposed.link_id}": "oui",
            f"naissance-{proposed.link_id}": "08/10/2013",
        }
    )
    form = ChildrenForm.read(data, [proposed])

    assert ChildrenForm.from_data(form.to_data()) == form


def test_links_error_codes_have_french_messages():
    assert decision_message("too_many_attempts") == MESSAGES["too_many_attempts"]
    assert decision_message("last_confirmed_link") == MESSAGES["last_confirmed_link"]
    assert decision_message("code_inconnu") == UNKNOWN_DECISION_ERROR
