"""Settings of the links service, read from ``LINKS_*`` environment variables."""

from pydantic import Field
from pydantic_settings import SettingsConfigDict

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

    @classmethod
    def secret_field_names(cls) -> tuple[str, ...]:
        return ("internal_token",)
