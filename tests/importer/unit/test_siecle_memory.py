import tracemalloc

from services.importer.siecle import read_siecle_school

from ..factories import eleves_xml, responsables_xml, write_siecle

ADRESSE = """
      <ADRESSE ADRESSE_ID="{number}">
        <LIGNE1_ADRESSE>{number} route de Belleterre</LIGNE1_ADRESSE>
        <LIGNE2_ADRESSE/>
        <CODE_POSTAL>99110</CODE_POSTAL>
        <LIBELLE_POSTAL>BELLETERRE-SUR-FICTION</LIBELLE_POSTAL>
        <LL_PAYS>FRANCE</LL_PAYS>
      </ADRESSE>"""
ADDRESS_COUNT = 40_000


def read_with_peak(paths):
    """Read a school's files and return the export and the peak of memory
    that Python allocated meanwhile."""
    tracemalloc.start()
    try:
        export = read_siecle_school(*paths)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return export, peak


def test_parsing_memory_does_not_grow_with_records(tmp_path):
    # Records that are not kept (addresses here) must not stay in the tree.
    addresses = "".join(ADRESSE.format(number=n) for n in range(ADDRESS_COUNT))
    document = responsables_xml().replace(
        "\n  </DONNEES>", f"\n    <ADRESSES>{addresses}\n    </ADRESSES>\n  </DONNEES>"
    )
    paths = write_siecle(tmp_path, responsables=document)
    file_size = paths[1].stat().st_size

    export, peak = read_with_peak(paths)

    assert len(export.responsables) == 1
    assert peak < file_size / 10


def test_unknown_elements_do_not_stay_in_the_tree(tmp_path):
    # Elements that are not records, under the root and under DONNEES, are
    # dropped once finished, like records. Kept, they would be walked again
    # after each chunk read.
    unknown = "<X/>" * 500_000
    document = eleves_xml().replace(
        "\n  <DONNEES>", f"\n  {unknown}\n  <DONNEES>\n    {unknown}", 1
    )
    paths = write_siecle(tmp_path, eleves=document)
    file_size = paths[0].stat().st_size

    export, peak = read_with_peak(paths)

    # A chunk of 16 KiB contains 4,096 empty elements, about 600 KB in memory.
    assert len(export.eleves) == 2
    assert peak < file_size / 4
