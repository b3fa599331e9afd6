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

    public_url: str | None = Field(
        default=None,
        pattern=r"^https?://[^/\s]+(/[^\s]*)?$",
        description="Address at which people reach the front door, such as "
        "https://educonnect.example.fr, used in the links sent by e-mail. "
        "Defaults to http://<http_host>:<http_port>, which only suits a local run.",
    )
    password_reset_minutes: int = Field(
        default=30,
        ge=5,
        le=240,
        description="Minutes during which a password reset link works.",
    )
    email_verification_hours: int = Field(
        default=24,
        ge=1,
        le=168,
        description="Hours during which an e-mail verification link works.",
    )
    creation_code_minutes: int = Field(
        default=10,
        ge=1,
        le=60,
        description="Minutes during which a one-time code sent by SMS to create "
        "an account works.",
    )

    @property
    def public_base_url(self) -> str:
        """Return the front door's address without a trailing slash."""
        if self.public_url:
            return self.public_url.rstrip("/")
        return f"http://{self.http_host}:{self.http_port}"

    @classmethod
    def secret_field_names(cls) -> tuple[str, ...]:
        return ("links_token", "secret_key", "notice_secret")
