import pytest

from services.identity import catalogue


def test_each_level_has_services():
    assert catalogue.services_for("onde")
    assert catalogue.services_for("siecle")
    assert catalogue.services_for("onde") != catalogue.services_for("siecle")


def test_missing_level_is_reported_with_the_file(tmp_path):
    path = tmp_path / "catalogue.toml"
    path.write_text('[[premier_degre]]\nnom = "A"\ndescription = "B"\nadresse = "/"\n')

    with pytest.raises(
        ValueError, match=r"catalogue.toml: the list \[\[second_degre\]\]"
    ):
        catalogue.load(path)


def test_entry_without_address_is_reported(tmp_path):
    path = tmp_path / "catalogue.toml"
    path.write_text(
        '[[premier_degre]]\nnom = "A"\ndescription = "B"\n'
        '[[second_degre]]\nnom = "C"\ndescription = "D"\nadresse = "/"\n'
    )

    with pytest.raises(ValueError, match=r"invalid entry in \[\[premier_degre\]\]"):
        catalogue.load(path)


@pytest.mark.parametrize(
    "address",
    [
        "https://orientation.teleservices.example/",
        "https://orientation.teleservices.example/eleve/42?onglet=voeux",
        "HTTPS://Orientation.Teleservices.Example/",
    ],
)
def test_catalogue_address_is_a_registered_return(address):
    service = catalogue.registered_return(address)

    assert service is not None
    assert service.nom == "Orientation"


@pytest.mark.parametrize(
    "address",
    [
        "https://pirate.example/",
        "http://orientation.teleservices.example/",
        "https://orientation.teleservices.example.pirate.example/",
        "https://orientation.teleservices.example@pirate.example/",
        "//orientation.teleservices.example/",
        "javascript:alert(1)",
        "/mon-compte",
        "",
    ],
)
def test_other_address_is_not_a_registered_return(address):
    assert catalogue.registered_return(address) is None
