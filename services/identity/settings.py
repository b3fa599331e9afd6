"""Settings of the identity service, read from ``IDENTITY_*`` environment
variables."""

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class Settings(ServiceSettings):
    """Identity service settings."""

    model_config = SettingsConfigDict(
        env_prefix="IDENTITY_", extra="ignore", frozen=True
    )

    http_host: str = "127.0.0.1"
    http_port: int = 8000
    links_url: str = Field(description="Base URL of the links internal API.")
    links_token: str = Field(min_length=16)
    secret_key: str = Field(
        min_length=16, description="Key that signs session cookies."
    )
    notice_secret: str = Field(
        min_length=16,
        description="Key from which each account's provisional password is "
        "derived; changing it changes every provisional password not yet used.",
    )
    cookie_secure: bool = True
    session_minutes: int = Field(default=30, ge=5, le=720)
    session_purge_minutes: int = Field(
        default=60,
        ge=1,
        le=1440,
        description="How often the sessions past their expiry are deleted.",
    )

    @classmethod
    def secret_field_names(cls) -> tuple[str, ...]:
        return ("links_token", "secret_key", "notice_secret")
