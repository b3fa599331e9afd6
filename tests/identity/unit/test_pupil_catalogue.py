import pytest

from services.identity import catalogue

_ENTRY = 'nom = "{nom}"\ndescription = "D"\nadresse = "https://{nom}.example/"\n'


def _write(tmp_path, second_degre_extra: str):
    path = tmp_path / "catalogue.toml"
    path.write_text(
        "[[premier_degre]]\n"
        + _ENTRY.format(nom="a")
        + "[[second_degre]]\n"
        + _ENTRY.format(nom="b")
        + second_degre_extra
    )
    return path


@pytest.mark.parametrize("source", ["onde", "siecle"])
def test_pupils_have_services_of_their_level(source):
    services = catalogue.services_for(source, public="eleve")

    assert services
    assert all("eleve" in service.publics for service in services)


@pytest.mark.parametrize("source", ["onde", "siecle"])
def test_parents_and_pupils_see_different_lists(source):
    parents = {service.nom for service in catalogue.services_for(source)}
    pupils = {service.nom for service in catalogue.services_for(source, "eleve")}

    assert pupils - parents, "no service is for pupils only"
    assert parents - pupils, "no service is for responsables only"


def test_pupil_services_are_registered_returns():
    for source in ("onde", "siecle"):
        for service in catalogue.services_for(source, public="eleve"):
            assert catalogue.registered_return(service.adresse) is not None


def test_entry_without_publics_is_for_responsables(tmp_path):
    loaded = catalogue.load(_write(tmp_path, ""))

    assert loaded["second_degre"][0].publics == ("responsable",)


def test_entry_with_both_publics_is_listed_for_both(tmp_path):
    extra = "[[second_degre]]\n" + _ENTRY.format(nom="c")
    extra += 'publics = ["responsable", "eleve"]\n'

    loaded = catalogue.load(_write(tmp_path, extra))

    assert loaded["second_degre"][1].publics == ("responsable", "eleve")


@pytest.mark.parametrize("publics", ['["parents"]', "[]", '"eleve"'])
def test_unknown_public_is_reported_with_the_entry(tmp_path, publics):
    extra = "[[second_degre]]\n" + _ENTRY.format(nom="c") + f"publics = {publics}\n"

    with pytest.raises(ValueError, match=r"\[\[second_degre\]\] 'c': publics must"):
        catalogue.load(_write(tmp_path, extra))
