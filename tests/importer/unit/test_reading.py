import os
import shutil
from dataclasses import dataclass, fields

import pytest

from services.importer import reading
from services.importer.changes import Snapshot
from services.importer.errors import ImportFileRejected
from services.importer.reading import ReaderWorkerFailed, read_schools
from services.importer.sources import SchoolFolder, find_school_folders

from ..samples import SAMPLES


def sample_schools(root=SAMPLES):
    return find_school_folders([root / "siecle" / "week1", root / "onde" / "week1"])


async def no_snapshot(school):
    return Snapshot()


async def read_all(schools, workers, load=no_snapshot):
    # The sample files are far below the size that starts workers in a run.
    reading = read_schools(
        schools,
        load,
        academie="versailles",
        full=True,
        workers=workers,
        min_bytes=0,
    )
    return [comparison async for _, comparison in reading]


async def test_workers_read_same_exports():
    schools = sample_schools()

    in_process = await read_all(schools, workers=0)
    with_workers = await read_all(schools, workers=2)

    assert with_workers == in_process
    assert [export.uai for export in with_workers] == [s.uai for s in schools]


async def test_workers_send_back_only_changes():
    schools = sample_schools()
    first = await read_all(schools, workers=0)
    snapshots = {
        (c.source, c.uai): Snapshot(
            eleves={p.id: p.digest for p in c.eleves},
            responsables={p.id: p.digest for p in c.responsables},
        )
        for c in first
    }

    async def load(school):
        return snapshots[school.source, school.uai]

    again = await read_all(schools, workers=1, load=load)

    assert [(c.eleves, c.responsables, c.eleves_removed) for c in again] == [
        ((), (), ())
    ] * len(schools)
    assert [c.eleve_count for c in again] == [c.eleve_count for c in first]
    assert [c.ine_hashes for c in again] == [c.ine_hashes for c in first]


async def test_worker_rejection_names_file(tmp_path):
    for source in ("siecle", "onde"):
        shutil.copytree(SAMPLES / source / "week1", tmp_path / source / "week1")
    broken = tmp_path / "siecle" / "week1" / "0999102F" / "ElevesSansAdresses.xml"
    broken.write_bytes(broken.read_bytes().replace(b"11/02/2011", b"31/02/2011"))
    schools = sample_schools(tmp_path)

    with pytest.raises(ImportFileRejected) as in_process:
        await read_all(schools, workers=0)
    with pytest.raises(ImportFileRejected) as with_workers:
        await read_all(schools, workers=1)

    assert with_workers.value.file == str(broken)
    assert "31/02/2011" in with_workers.value.reason
    assert str(with_workers.value) == str(in_process.value)


@dataclass(frozen=True, slots=True)
class DyingSchool(SchoolFolder):
    """A school whose reading ends the process that reads it."""

    def read(self):
        os._exit(9)


async def test_dead_worker_names_its_school():
    schools = sample_schools()
    dying = DyingSchool(
        **{f.name: getattr(schools[1], f.name) for f in fields(schools[1])}
    )
    schools[1] = dying

    with pytest.raises(ReaderWorkerFailed) as caught:
        await read_all(schools, workers=1)

    assert caught.value.school is dying
    assert f"UAI {dying.uai}" in str(caught.value)
    assert str(dying.eleves.parent) in str(caught.value)


@pytest.mark.parametrize(("processors", "workers"), [(1, 1), (2, 2), (16, 2)])
def test_default_workers_follow_processors(monkeypatch, processors, workers):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(processors)))

    assert reading.default_workers() == workers
