"""Settings common to every service. Each service subclasses ``ServiceSettings``
in its own ``settings.py`` with its environment prefix; nothing else reads the
environment."""

from typing import Literal

from pydantic import field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

Environment = Literal["development", "test", "production"]

# Values that must never reach production: they are either published in this
# repository or obviously made up.
PLACEHOLDER_SECRETS = frozenset({"", "changeme", "change-me", "secret", "dev"})


class ServiceSettings(BaseSettings):
    """Database, broker and logging settings every service needs."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    environment: Environment = "production"
    database_url: str
    kafka_bootstrap_servers: str
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        if not value.startswith(("postgresql://", "postgres://")):
            raise ValueError(
                f"invalid database URL {value!r}: expected postgresql://user@host:port/db"
            )
        return value

    @model_validator(mode="after")
    def _reject_placeholder_secrets(self) -> "ServiceSettings":
        if self.environment != "production":
            return self
        for name in self.secret_field_names():
            if str(getattr(self, name)).strip().lower() in PLACEHOLDER_SECRETS:
                raise ValueError(
                    f"{name} is a placeholder; set a random value of at least "
                    "32 characters before running in production"
                )
        return self

    @classmethod
    def secret_field_names(cls) -> tuple[str, ...]:
        """Names of the fields that hold secrets; subclasses extend it."""
        return ()
