import io

from services.importer.handlers import ProgressPrinter, removal_over_share


def test_progress_prints_phase_and_rate():
    stream = io.StringIO()
    printer = ProgressPrinter(stream, interval=0)

    printer("import", 0, 2, 0)
    printer("import", 1, 2, 150)
    printer("import", 2, 2, 300)

    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("import: 1/2 schools, 150 pupils, ")
    assert lines[1].startswith("import: 2/2 schools, 300 pupils, ")
    assert lines[1].endswith(" pupils/s")


def test_progress_prints_last_school_within_interval():
    stream = io.StringIO()
    printer = ProgressPrinter(stream, interval=3600)

    printer("import", 0, 3, 0)
    printer("import", 1, 3, 10)
    printer("import", 2, 3, 20)
    printer("import", 3, 3, 30)

    lines = stream.getvalue().splitlines()
    assert [line.split(",")[0] for line in lines] == [
        "import: 1/3 schools",
        "import: 3/3 schools",
    ]


def test_removal_over_share_names_pupils_or_links():
    measures = {
        "eleves_before": 100,
        "eleves_removed": 10,
        "links_before": 180,
        "links_removed": 19,
    }

    assert removal_over_share(measures, 0.10) == (
        "would remove 19 of 180 links (10.6%, more than 10%): held until an "
        "operator confirms it with 'python -m services.importer confirm'"
    )
    assert removal_over_share(measures, 0.11) is None
