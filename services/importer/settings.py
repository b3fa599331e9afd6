"""Settings of the importer, read from ``IMPORTER_*`` environment variables:
``IMPORTER_DATABASE_URL``, ``IMPORTER_KAFKA_BOOTSTRAP_SERVERS``,
``IMPORTER_ENVIRONMENT``, ``IMPORTER_LOG_LEVEL``, ``IMPORTER_HOLD_SHARE``,
``IMPORTER_DEPOT_ROOT``, ``IMPORTER_PLAN``, ``IMPORTER_MAX_XML_BYTES``,
``IMPORTER_MAX_COMPRESSION_RATIO`` and ``IMPORTER_READ_WORKERS``."""

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings

DEFAULT_PLAN = Path(__file__).parent / "plan.toml"


class ImporterSettings(ServiceSettings):
    """Database, broker, logging, hold and depot settings of the importer."""

    model_config = SettingsConfigDict(
        env_prefix="IMPORTER_", extra="ignore", frozen=True
    )

    # A full import that would remove more than this share (0.10 = 10 %) of
    # the pupils, or of the links, its schools had is held for an operator.
    hold_share: float = Field(default=0.10, gt=0, le=1)
    # Folder below which the 1D and 2D depots are, for scan, watch and
    # schedule; None when the importer runs only on folders given to it.
    depot_root: Path | None = None
    # File to which an applied run writes its import_rows_total counters in
    # the Prometheus text format, for the node exporter's textfile collector:
    # a command lives too briefly to be scraped. None writes nothing.
    metrics_path: Path | None = None
    # Weekly plan of full imports per académie.
    plan: Path = DEFAULT_PLAN
    # Largest SIECLE XML file read, in bytes, counted on the bytes read and,
    # for a .zip archive, on the size its member declares.
    max_xml_bytes: int = Field(default=2 * 1024**3, gt=0)
    # Largest compression ratio of a .zip member (uncompressed size divided
    # by compressed size). The sample exports are near 15, a zip bomb far above.
    max_compression_ratio: float = Field(default=100.0, gt=1)
    # Worker processes that read the next schools' files, and compare them
    # with the scopes' digests, while the run writes the current one (see
    # services/importer/reading.py); 0 reads them in the run's own process.
    # None: one per processor available, at most two (``default_workers``).
    read_workers: int | None = Field(default=None, ge=0, le=32)
