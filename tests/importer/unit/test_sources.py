import pytest

from services.importer.errors import SourceFolderInvalid
from services.importer.sources import find_school_folders

from ..factories import write_onde, write_siecle
from ..samples import SAMPLES


def test_folder_of_school_folders_is_expanded():
    schools = find_school_folders([SAMPLES / "siecle" / "week1"])

    assert [(s.source, s.uai) for s in schools] == [
        ("siecle", "0999101E"),
        ("siecle", "0999102F"),
    ]


def test_school_folder_itself_is_accepted():
    schools = find_school_folders([SAMPLES / "onde" / "week1" / "0999201N"])

    assert [(s.source, s.uai) for s in schools] == [("onde", "0999201N")]


def test_xml_is_preferred_to_zip():
    (school,) = find_school_folders([SAMPLES / "siecle" / "week1" / "0999101E"])

    assert school.eleves.name == "ElevesSansAdresses.xml"
    assert school.responsables.name == "ResponsablesAvecAdresses.xml"


def test_zip_alone_is_found(tmp_path):
    folder = tmp_path / "0999101E"
    eleves, responsables = write_siecle(folder)
    eleves.rename(folder / "ElevesSansAdresses.zip")

    (school,) = find_school_folders([folder])

    assert school.eleves.name == "ElevesSansAdresses.zip"


def test_non_uai_subfolders_are_ignored(tmp_path):
    write_onde(tmp_path / "0999201N")
    (tmp_path / "rejected").mkdir()

    schools = find_school_folders([tmp_path])

    assert [s.uai for s in schools] == ["0999201N"]


def test_folder_without_school_is_rejected(tmp_path):
    with pytest.raises(SourceFolderInvalid, match="no school folder"):
        find_school_folders([tmp_path])


def test_missing_folder_is_rejected(tmp_path):
    with pytest.raises(SourceFolderInvalid, match="is not a folder"):
        find_school_folders([tmp_path / "absent"])


def test_incomplete_export_is_rejected(tmp_path):
    folder = tmp_path / "0999201N"
    _, responsables = write_onde(folder)
    responsables.unlink()

    with pytest.raises(SourceFolderInvalid, match="eleves.csv but not the other"):
        find_school_folders([folder])


def test_mixed_sources_are_rejected(tmp_path):
    folder = tmp_path / "0999201N"
    write_onde(folder)
    write_siecle(folder)

    with pytest.raises(SourceFolderInvalid, match="both SIECLE and ONDE"):
        find_school_folders([folder])


def test_same_school_twice_is_rejected():
    week1 = SAMPLES / "onde" / "week1"

    with pytest.raises(SourceFolderInvalid, match="two onde exports"):
        find_school_folders([week1, week1 / "0999201N"])
