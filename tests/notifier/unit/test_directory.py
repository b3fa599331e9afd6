import pytest

from services.notifier.directory import load_directory
from services.notifier.errors import DirectoryError

ACADEMIES_OF_THE_2020_PLAN = {
    "aix-marseille", "corse", "dijon", "lyon", "nantes", "nice", "versailles",
    "besancon", "bordeaux", "clermont-ferrand", "grenoble", "limoges",
    "montpellier", "nancy-metz", "poitiers", "reims", "strasbourg",
    "amiens", "caen", "rouen", "guadeloupe", "guyane", "paris", "toulouse",
    "lille", "mayotte", "nouvelle-caledonie", "martinique", "polynesie",
    "creteil", "orleans-tours", "rennes", "la-reunion",
}  # fmt: skip

VALID_ENTRY = """
name = "Versailles"
onde = "diffusion-onde@ac-versailles.example"
siecle = "diffusion-siecle@ac-versailles.example"
educonnect = "diffusion-educonnect@ac-versailles.example"
assistance = "assistance@ac-versailles.example"
"""


def test_shipped_directory_covers_plan():
    directory = load_directory()

    assert len(ACADEMIES_OF_THE_2020_PLAN) == 33
    assert set(directory) == ACADEMIES_OF_THE_2020_PLAN


@pytest.mark.parametrize("code", sorted(ACADEMIES_OF_THE_2020_PLAN))
def test_shipped_addresses_are_placeholders(code):
    academie = load_directory()[code]
    addresses = [
        academie.onde,
        academie.siecle,
        academie.educonnect,
        academie.assistance,
    ]

    assert len(set(addresses)) == 4
    assert all(address.endswith(".example") for address in addresses)


@pytest.mark.parametrize(
    ("code", "name"),
    [
        ("versailles", "Versailles"),
        ("aix-marseille", "Aix-Marseille"),
        ("orleans-tours", "Orléans-Tours"),
        ("besancon", "Besançon"),
        ("la-reunion", "La Réunion"),
        ("nouvelle-caledonie", "Nouvelle-Calédonie"),
    ],
)
def test_shipped_display_names(code, name):
    assert load_directory()[code].name == name


def test_versailles_onde_address():
    academie = load_directory()["versailles"]

    assert academie.onde == "diffusion-onde@ac-versailles.example"


def test_diffusion_team_follows_source():
    academie = load_directory()["lyon"]

    assert academie.diffusion_team("onde") == academie.onde
    assert academie.diffusion_team("siecle") == academie.siecle


def test_loads_other_file(tmp_path):
    path = tmp_path / "directory.toml"
    path.write_text(f"[versailles]{VALID_ENTRY}", encoding="utf-8")

    directory = load_directory(path)

    assert list(directory) == ["versailles"]


def test_rejects_missing_file(tmp_path):
    with pytest.raises(DirectoryError, match="cannot read"):
        load_directory(tmp_path / "missing.toml")


def test_rejects_invalid_toml(tmp_path):
    path = tmp_path / "directory.toml"
    path.write_text("[versailles\n", encoding="utf-8")

    with pytest.raises(DirectoryError, match="invalid TOML"):
        load_directory(path)


def test_rejects_empty_file(tmp_path):
    path = tmp_path / "directory.toml"
    path.write_text("", encoding="utf-8")

    with pytest.raises(DirectoryError, match="lists no académie"):
        load_directory(path)


def test_rejects_code_with_accent(tmp_path):
    path = tmp_path / "directory.toml"
    path.write_text(f'["orléans-tours"]{VALID_ENTRY}', encoding="utf-8")

    with pytest.raises(DirectoryError, match="invalid académie code"):
        load_directory(path)


def test_rejects_invalid_address(tmp_path):
    path = tmp_path / "directory.toml"
    entry = VALID_ENTRY.replace("assistance@ac-versailles.example", "assistance")
    path.write_text(f"[versailles]{entry}", encoding="utf-8")

    with pytest.raises(DirectoryError, match="invalid académie 'versailles'"):
        load_directory(path)


def test_rejects_missing_team(tmp_path):
    path = tmp_path / "directory.toml"
    entry = VALID_ENTRY.replace('onde = "diffusion-onde@ac-versailles.example"', "")
    path.write_text(f"[versailles]{entry}", encoding="utf-8")

    with pytest.raises(DirectoryError, match="onde"):
        load_directory(path)


def test_rejects_entry_that_is_not_table(tmp_path):
    path = tmp_path / "directory.toml"
    path.write_text('versailles = "Versailles"\n', encoding="utf-8")

    with pytest.raises(DirectoryError, match="not a table"):
        load_directory(path)
