import uuid
from datetime import date

import pytest
from starlette.datastructures import FormData

from services.identity.forms import (
    MESSAGES,
    ActivationForm,
    new_email_errors,
    parse_birth_date,
)
from services.identity.links_client import Link
from services.identity.web import de_prenom


def make_link(prenom: str) -> Link:
    return Link(
        link_id=uuid.uuid4(),
        state="proposed",
        source="siecle",
        eleve_id=f"ine-{prenom}",
        nom="N'DIAYE",
        prenom=prenom,
        uai="0999101E",
        classe="5A",
    )


FIELDS_OF_PASSWORD = ("password", "password_confirmation")


def filled_form(links: list[Link], **overrides: str) -> FormData:
    fields = {
        "email": "parent@exemple.fr",
        "email_confirmation": "Parent@Exemple.fr",
    }
    for link in links:
        fields[f"choix-{link.link_id}"] = "oui"
        fields[f"naissance-{link.link_id}"] = "14/03/2013"
    fields.update(overrides)
    return FormData(fields)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("03/04/2012", date(2012, 4, 3)),
        ("3/4/2012", date(2012, 4, 3)),
        ("2012-04-03", date(2012, 4, 3)),
        ("31/02/2012", None),
        ("2012/04/03", None),
        ("", None),
    ],
)
def test_parse_birth_date(text, expected):
    assert parse_birth_date(text) == expected


def test_valid_form_has_no_errors():
    links = [make_link("Awa")]
    form = ActivationForm.read(filled_form(links), links)

    assert form.errors("une phrase assez longue", "une phrase assez longue") == {}


def test_mismatched_emails_are_reported_on_confirmation():
    links = [make_link("Awa")]
    form = ActivationForm.read(
        filled_form(links, email_confirmation="autre@exemple.fr"), links
    )

    errors = form.errors("une phrase assez longue", "une phrase assez longue")

    assert errors == {"email_confirmation": MESSAGES["email_mismatch"]}


def test_mismatched_passwords_are_reported_on_confirmation():
    links = [make_link("Awa")]
    form = ActivationForm.read(filled_form(links), links)

    errors = form.errors("une phrase assez longue", "une phrase assez lounge")

    assert errors == {"password_confirmation": MESSAGES["password_mismatch"]}


def test_short_password_is_rejected():
    links = [make_link("Awa")]
    form = ActivationForm.read(filled_form(links), links)

    assert form.errors("court", "court") == {"password": MESSAGES["password_short"]}


def test_refusing_every_child_is_rejected():
    links = [make_link("Awa"), make_link("Fatou")]
    overrides = {f"choix-{link.link_id}": "non" for link in links}
    form = ActivationForm.read(filled_form(links, **overrides), links)

    errors = form.errors("une phrase assez longue", "une phrase assez longue")

    assert errors == {"form": MESSAGES["no_child_confirmed"]}


def test_refused_child_needs_no_birth_date():
    links = [make_link("Awa"), make_link("Fatou")]
    refused = links[1].link_id
    form = ActivationForm.read(
        filled_form(links, **{f"choix-{refused}": "non", f"naissance-{refused}": ""}),
        links,
    )

    assert form.errors("une phrase assez longue", "une phrase assez longue") == {}
    assert [choice.decision for choice in form.choices()] == ["confirm", "refuse"]
    assert form.choices()[1].date_naissance is None


def test_confirmed_child_needs_a_real_date():
    links = [make_link("Awa")]
    field = f"naissance-{links[0].link_id}"
    form = ActivationForm.read(filled_form(links, **{field: "31/02/2013"}), links)

    errors = form.errors("une phrase assez longue", "une phrase assez longue")

    assert errors == {field: MESSAGES["birth_date_invalid"]}


@pytest.mark.parametrize("field", ["email", "email_confirmation", "naissance"])
def test_control_character_in_text_field(field):
    links = [make_link("Awa")]
    if field == "naissance":
        field = f"naissance-{links[0].link_id}"
        typed = "14/03/\x002013"
    else:
        typed = "a\x00b@exemple.fr"
    form = ActivationForm.read(filled_form(links, **{field: typed}), links)

    errors = form.errors("une phrase assez longue", "une phrase assez longue")

    assert errors[field] == MESSAGES["control_character"]


@pytest.mark.parametrize("field", ["password", "password_confirmation"])
def test_control_character_in_password(field):
    links = [make_link("Awa")]
    passwords = dict.fromkeys(FIELDS_OF_PASSWORD, "une phrase assez longue")
    passwords[field] = "une phrase\x00assez longue"
    form = ActivationForm.read(filled_form(links), links)

    errors = form.errors(passwords["password"], passwords["password_confirmation"])

    assert errors == {field: MESSAGES["control_character"]}


def test_child_confirmed_before_counts_as_oui():
    form = ActivationForm.read(filled_form([]), [])

    errors = form.errors(
        "une phrase assez longue", "une phrase assez longue", has_confirmed_child=True
    )

    assert errors == {}
    assert form.choices() == []


def test_no_child_at_all_is_still_rejected():
    form = ActivationForm.read(filled_form([]), [])

    errors = form.errors("une phrase assez longue", "une phrase assez longue")

    assert errors == {"form": MESSAGES["no_child_confirmed"]}


def test_form_survives_the_session_round_trip():
    links = [make_link("Awa"), make_link("Fatou")]
    form = ActivationForm.read(
        filled_form(links, **{f"choix-{links[1].link_id}": "non"}), links
    )

    assert ActivationForm.from_data(form.to_data()) == form


@pytest.mark.parametrize(
    ("prenom", "expected"),
    [
        ("Awa", "d'Awa"),
        ("Élodie", "d'Élodie"),
        ("Inès", "d'Inès"),
        ("Hugo", "de Hugo"),
        ("Jules", "de Jules"),
        ("Yanis", "de Yanis"),
        ("Yves", "d'Yves"),
    ],
)
def test_de_prenom_elides_before_vowels(prenom, expected):
    assert de_prenom(prenom) == expected


@pytest.mark.parametrize(
    "typed",
    [
        "x" * 250 + "@example.fr",
        "nadia\u200b@example.fr",
        "<script>@example.fr",
        'a"b@example.fr',
    ],
)
def test_unusable_email_is_invalid(typed):
    assert new_email_errors(typed, typed) == {"email": MESSAGES["email_invalid"]}
