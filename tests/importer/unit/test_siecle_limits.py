"""Limits on what a SIECLE file may make the importer read: archive members
too large or too compressed, files over the byte limit, and runs of text or
blanks that the parser would hold in memory whole."""

import zipfile

import pytest

from services.importer.errors import ImportFileRejected
from services.importer.settings import ImporterSettings
from services.importer.siecle import (
    DEFAULT_LIMITS,
    MAX_TEXT_RUN_BYTES,
    ReadLimits,
    read_siecle_school,
)
from services.importer.sources import find_school_folders

from ..factories import UAI, eleves_xml, write_siecle


def zip_member(path, document: str) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("ElevesSansAdresses.xml", document.encode("iso-8859-15"))


def rejection(eleves, responsables, limits=DEFAULT_LIMITS) -> ImportFileRejected:
    with pytest.raises(ImportFileRejected) as caught:
        read_siecle_school(eleves, responsables, limits=limits)
    return caught.value


def test_zip_over_ratio_rejected(tmp_path):
    _, responsables = write_siecle(tmp_path)
    eleves = tmp_path / "ElevesSansAdresses.zip"
    padding = " " * 500_000
    zip_member(eleves, eleves_xml().replace("</ELEVES>", f"{padding}</ELEVES>"))

    error = rejection(eleves, responsables)

    assert error.file == str(eleves)
    assert error.location == "archive member 'ElevesSansAdresses.xml'"
    assert "compression ratio" in error.reason
    assert "over the 100 allowed" in error.reason


def test_zip_declared_size_over_limit_rejected(tmp_path):
    _, responsables = write_siecle(tmp_path)
    eleves = tmp_path / "ElevesSansAdresses.zip"
    zip_member(eleves, eleves_xml())

    error = rejection(eleves, responsables, ReadLimits(max_xml_bytes=1000))

    assert error.location == "archive member 'ElevesSansAdresses.xml'"
    assert "is over the 1000 allowed (IMPORTER_MAX_XML_BYTES)" in error.reason


def test_xml_over_size_limit_rejected(tmp_path):
    eleves, responsables = write_siecle(tmp_path)

    error = rejection(eleves, responsables, ReadLimits(max_xml_bytes=1000))

    assert error.file == str(eleves)
    assert "more than 1000 bytes of XML" in error.reason


def test_long_blank_run_rejected(tmp_path):
    blanks = "\n" + " " * (MAX_TEXT_RUN_BYTES + 1)
    document = eleves_xml().replace("</ELEVES>", f"{blanks}</ELEVES>")
    eleves, responsables = write_siecle(tmp_path, eleves=document)

    error = rejection(eleves, responsables)

    assert error.location == "line 26"
    assert f"more than {MAX_TEXT_RUN_BYTES} bytes of text or blanks" in error.reason
    assert "after </ELEVE>" in error.reason


def test_huge_first_name_rejected_before_parsed(tmp_path):
    prenom = "A" * (MAX_TEXT_RUN_BYTES + 1)
    document = eleves_xml().replace("Zoé", prenom, 1)
    eleves, responsables = write_siecle(tmp_path, eleves=document)

    error = rejection(eleves, responsables)

    assert error.location == "line 13"
    assert "bytes of text or blanks after <PRENOM>" in error.reason


def test_blank_run_under_limit_read(tmp_path):
    blanks = " " * (MAX_TEXT_RUN_BYTES - 100)
    document = eleves_xml().replace("</ELEVES>", f"{blanks}</ELEVES>")

    export = read_siecle_school(*write_siecle(tmp_path, eleves=document))

    assert len(export.eleves) == 2


def test_school_folder_uses_given_limits(tmp_path):
    write_siecle(tmp_path / UAI)
    (school,) = find_school_folders([tmp_path], ReadLimits(max_xml_bytes=1000))

    with pytest.raises(ImportFileRejected, match="more than 1000 bytes of XML"):
        school.read()


def test_settings_read_limits(monkeypatch):
    monkeypatch.setenv("IMPORTER_MAX_XML_BYTES", "5000")
    monkeypatch.setenv("IMPORTER_MAX_COMPRESSION_RATIO", "40")

    # Nothing connects: the settings are only read.
    settings = ImporterSettings(
        database_url="postgresql://unused", kafka_bootstrap_servers="127.0.0.1:9"
    )

    assert settings.max_xml_bytes == 5000
    assert settings.max_compression_ratio == 40


def test_zip_false_small_size_rejected(tmp_path):
    # A member that declares 2,000 bytes (ratio 2) but inflates to 500 kB.
    _, responsables = write_siecle(tmp_path)
    eleves = tmp_path / "ElevesSansAdresses.zip"
    padding = " " * 500_000
    zip_member(eleves, eleves_xml().replace("</ELEVES>", f"{padding}</ELEVES>"))
    with zipfile.ZipFile(eleves) as archive:
        (member,) = archive.infolist()
    real = member.file_size.to_bytes(4, "little")
    data = eleves.read_bytes()
    assert data.count(real) == 2  # local header and central directory
    eleves.write_bytes(data.replace(real, (2000).to_bytes(4, "little")))

    error = rejection(eleves, responsables)

    assert (error.file, error.location) == (str(eleves), "archive")
    assert error.reason.startswith("corrupt zip member: Bad CRC-32")
