"""Errors of the importer.

    ImporterError
    ├── ImportFileRejected    a file cannot be read whole, so none of it is applied
    └── SourceFolderInvalid   a folder contains no export, or an incomplete one

The command line exits with code 2 on either, and with code 1 on anything else.
"""

from pathlib import Path


class ImporterError(Exception):
    """Root of the importer's errors."""


class ImportFileRejected(ImporterError):
    """An export file that is refused whole: bad encoding, broken XML, missing
    columns, impossible values or duplicate ids.

    ``location`` names where the problem is: ``line 12`` in a CSV file, or the
    XML element with the id of the pupil or person it belongs to.
    """

    def __init__(self, file: Path | str, location: str, reason: str) -> None:
        self.file = str(file)
        self.location = location
        self.reason = reason
        super().__init__(f"rejected {self.file}: {location}: {reason}")

    def __reduce__(self):
        # Worker processes that read files send their errors back pickled.
        return type(self), (self.file, self.location, self.reason)


class SourceFolderInvalid(ImporterError):
    """A folder given to the importer that contains no recognisable export, an
    incomplete or mixed export, or the same school twice."""
