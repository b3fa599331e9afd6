from datetime import UTC, date, datetime

import pytest

from services.notifier.rendering import correction_deadline, render_refusal

from ..factories import make_refusal


def render(event, *, academie_name="Versailles", correction_days=30):
    return render_refusal(
        event, academie_name=academie_name, correction_days=correction_days
    )


def test_subject_names_ine_and_uai():
    rendered = render(make_refusal(ine="9900000001K", uai="0991234X"))

    assert rendered.subject == (
        "[EduConnect] Refus de rattachement – élève 9900000001K – 0991234X"
    )


def test_subject_uses_source_id_without_ine():
    rendered = render(make_refusal(ine=None, source_eleve_id="412345"))

    assert "élève 412345 –" in rendered.subject


def test_subject_stays_one_line():
    rendered = render(make_refusal(ine=None, source_eleve_id="41\n23\r45"))

    assert "\n" not in rendered.subject
    assert "\r" not in rendered.subject


EXPECTED_FIELDS = [
    ("académie", "Académie : Orléans-Tours"),
    ("uai", "0991234X"),
    ("school name gap", "nom de l'établissement non disponible"),
    ("classe", "5A"),
    ("source id", "Identifiant SIECLE : 412345"),
    ("ine", "INE : 9900000001K"),
    ("nom", "Nom : Lefèvre"),
    ("prénom", "Prénom : Zoé"),
    ("date de naissance", "Date de naissance : 03/09/2011"),
    ("responsable id", "Identifiant : siecle:778899"),
    ("responsable", "M. Durand Paul"),
    ("screen", "sur la page intermédiaire"),
    ("refusal time", "le 15/01/2020 à 10 h 45 (heure de Paris)"),
    ("deadline", "à corriger avant le 14/02/2020"),
]


@pytest.mark.parametrize(
    "expected",
    [text for _, text in EXPECTED_FIELDS],
    ids=[n for n, _ in EXPECTED_FIELDS],
)
def test_text_body_shows_field(expected):
    rendered = render(make_refusal(), academie_name="Orléans-Tours")

    assert expected in rendered.text


@pytest.mark.parametrize(
    "expected",
    [text.split(" : ")[-1] for _, text in EXPECTED_FIELDS],
    ids=[n for n, _ in EXPECTED_FIELDS],
)
def test_html_body_shows_field(expected):
    rendered = render(make_refusal(), academie_name="Orléans-Tours")

    assert expected in rendered.html


def test_bodies_show_link_reference():
    event = make_refusal()
    rendered = render(event)

    assert str(event.link_id) in rendered.text
    assert str(event.link_id) in rendered.html


def test_bodies_mark_missing_ine_and_source_id():
    rendered = render(make_refusal(source="onde", ine=None, source_eleve_id=None))

    assert "Identifiant ONDE : non communiqué" in rendered.text
    assert "INE : non communiqué" in rendered.text


@pytest.mark.parametrize(
    ("screen", "label"),
    [
        ("activation", "lors de l'activation du compte"),
        ("page_intermediaire", "sur la page intermédiaire"),
        ("mon_compte", "depuis Mon compte"),
    ],
)
def test_text_body_names_screen(screen, label):
    rendered = render(make_refusal(screen=screen))

    assert f"Fait {label}, le" in rendered.text


def test_html_body_escapes_values():
    rendered = render(make_refusal(nom="<script>alert('x')</script>", prenom="A & B"))

    assert "<script>" not in rendered.html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in rendered.html
    assert "A &amp; B" in rendered.html


def test_text_body_keeps_values_unescaped():
    rendered = render(make_refusal(nom="<Dupont>", prenom="A & B"))

    assert "Nom : <Dupont>" in rendered.text
    assert "Prénom : A & B" in rendered.text


def test_text_body_lists_only_known_fields():
    rendered = render(make_refusal())
    # The greeting and the introduction come first; the fields follow.
    details = rendered.text.split("\n\n")[2:]
    labels = {
        line.split(" : ")[0].strip()
        for paragraph in details
        for line in paragraph.splitlines()
        if " : " in line
    }

    # Adding a label here means adding personal data to every refusal mail.
    assert labels == {
        "Académie",
        "Établissement",
        "Classe",
        "Identifiant SIECLE",
        "INE",
        "Nom",
        "Prénom",
        "Date de naissance",
        "Identifiant",
        "Civilité, nom et prénom",
        "Délai",
        "Référence du rattachement",
    }


@pytest.mark.parametrize(
    ("refused_at", "deadline"),
    [
        # Within a month, and across the end of a 31-day month.
        (datetime(2020, 1, 1, 12, 0, tzinfo=UTC), date(2020, 1, 31)),
        (datetime(2020, 1, 15, 12, 0, tzinfo=UTC), date(2020, 2, 14)),
        # 2020 is a leap year: 29 February is counted.
        (datetime(2020, 2, 10, 12, 0, tzinfo=UTC), date(2020, 3, 11)),
        # Late evening UTC is already the next day in Paris.
        (datetime(2020, 1, 31, 23, 30, tzinfo=UTC), date(2020, 3, 2)),
        (datetime(2020, 1, 31, 22, 30, tzinfo=UTC), date(2020, 3, 1)),
        # Clocks go forward on 29 March 2020 at 02:00 (UTC+1 to UTC+2).
        (datetime(2020, 3, 28, 22, 59, tzinfo=UTC), date(2020, 4, 27)),
        (datetime(2020, 3, 28, 23, 0, tzinfo=UTC), date(2020, 4, 28)),
        (datetime(2020, 3, 29, 21, 59, tzinfo=UTC), date(2020, 4, 28)),
        (datetime(2020, 3, 29, 22, 0, tzinfo=UTC), date(2020, 4, 29)),
        # Clocks go back on 25 October 2020 at 03:00 (UTC+2 to UTC+1).
        (datetime(2020, 10, 24, 21, 59, tzinfo=UTC), date(2020, 11, 23)),
        (datetime(2020, 10, 24, 22, 0, tzinfo=UTC), date(2020, 11, 24)),
        (datetime(2020, 10, 25, 22, 59, tzinfo=UTC), date(2020, 11, 24)),
        (datetime(2020, 10, 25, 23, 0, tzinfo=UTC), date(2020, 11, 25)),
    ],
)
def test_deadline_counts_from_paris_date(refused_at, deadline):
    assert correction_deadline(refused_at, 30) == deadline


def test_deadline_takes_naive_time_as_utc():
    assert correction_deadline(datetime(2020, 1, 31, 23, 30), 30) == date(2020, 3, 2)


def test_deadline_follows_correction_days():
    refused_at = datetime(2020, 1, 15, 12, 0, tzinfo=UTC)

    assert correction_deadline(refused_at, 45) == date(2020, 2, 29)


@pytest.mark.parametrize(
    ("refused_at", "shown"),
    [
        (datetime(2020, 3, 29, 0, 30, tzinfo=UTC), "le 29/03/2020 à 01 h 30"),
        (datetime(2020, 3, 29, 1, 30, tzinfo=UTC), "le 29/03/2020 à 03 h 30"),
        (datetime(2020, 10, 25, 0, 30, tzinfo=UTC), "le 25/10/2020 à 02 h 30"),
        (datetime(2020, 10, 25, 1, 30, tzinfo=UTC), "le 25/10/2020 à 02 h 30"),
        (datetime(2020, 10, 24, 22, 15, tzinfo=UTC), "le 25/10/2020 à 00 h 15"),
    ],
)
def test_refusal_time_shown_in_paris_time(refused_at, shown):
    rendered = render(make_refusal(occurred_at=refused_at))

    assert shown in rendered.text


def test_body_deadline_around_dst_change():
    event = make_refusal(occurred_at=datetime(2020, 3, 28, 23, 30, tzinfo=UTC))
    rendered = render(event)

    assert "le 29/03/2020 à 00 h 30" in rendered.text
    assert "à corriger avant le 28/04/2020" in rendered.text


def test_known_school_is_named_next_to_its_uai():
    rendered = render(make_refusal(uai="0999101E"))

    assert "UAI 0999101E – Collège des Tilleuls" in rendered.text
    assert "Collège des Tilleuls" in rendered.html


def test_unknown_school_is_shown_by_uai_only():
    rendered = render(make_refusal())

    assert "UAI 0991234X (nom de l'établissement non disponible)" in rendered.text
