"""The importer: reads the ONDE (CSV) and SIECLE (XML) exports of each school,
compares them with what it last published, and publishes the pupils,
responsables and links that appeared, changed or disappeared.

Run it with ``python -m services.importer import --academie CODE FOLDER...``.
"""
