"""Settings of the links service, read from ``LINKS_*`` environment variables."""

from datetime import timedelta

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.links.domain import BirthDateThrottle
from shared.settings import ServiceSettings


class Settings(ServiceSettings):
    """Links service settings."""

    model_config = SettingsConfigDict(env_prefix="LINKS_", extra="ignore", frozen=True)

    http_host: str = "127.0.0.1"
    http_port: int = 8001
    internal_token: str = Field(
        min_length=16,
        description="Bearer token that the identity service presents on the "
        "internal API.",
    )

    consumer_group: str = Field(
        default="links",
        min_length=1,
        description="Kafka consumer group of the import subscribers; every "
        "replica of one deployment shares it.",
    )
    max_wrong_birth_dates_per_responsable: int = Field(
        default=5,
        ge=1,
        description="Wrong birth dates one responsable may type within "
        "responsable_window_seconds before the checks stop.",
    )
    responsable_window_seconds: int = Field(default=3600, ge=1)
    max_wrong_birth_dates_per_eleve: int = Field(
        default=5,
        ge=1,
        description="Wrong birth dates typed for one pupil, by any responsable, "
        "within eleve_window_seconds before the checks stop.",
    )
    eleve_window_seconds: int = Field(default=86400, ge=1)

    def birth_date_throttle(self) -> BirthDateThrottle:
        """Return the limits on wrong birth dates."""
        return BirthDateThrottle(
            per_responsable=self.max_wrong_birth_dates_per_responsable,
            responsable_window=timedelta(seconds=self.responsable_window_seconds),
            per_eleve=self.max_wrong_birth_dates_per_eleve,
            eleve_window=timedelta(seconds=self.eleve_window_seconds),
        )

    @classmethod
    def secret_field_names(cls) -> tuple[str, ...]:
        return ("internal_token",)
