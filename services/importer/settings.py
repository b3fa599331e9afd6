"""Settings of the importer, read from ``IMPORTER_*`` environment variables:
``IMPORTER_DATABASE_URL``, ``IMPORTER_KAFKA_BOOTSTRAP_SERVERS``,
``IMPORTER_ENVIRONMENT`` and ``IMPORTER_LOG_LEVEL``."""

from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class ImporterSettings(ServiceSettings):
    """Database, broker and logging settings of the importer."""

    model_config = SettingsConfigDict(
        env_prefix="IMPORTER_", extra="ignore", frozen=True
    )
