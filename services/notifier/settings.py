"""Settings of the notifier service, read from ``NOTIFIER_*`` environment
variables."""

from email.utils import parseaddr
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from services.notifier.account_messages import DEFAULT_SMS_GATEWAY_DOMAIN
from shared.settings import PLACEHOLDER_SECRETS, ServiceSettings

DEFAULT_SENDER = "EduConnect <ne-pas-repondre@educonnect.example>"


class Settings(ServiceSettings):
    """Notifier settings: the SMTP relay, the HTTP health endpoint, the
    correction deadline and the pace of the mail queue."""

    # Validation errors would otherwise quote every input, the SMTP password
    # included.
    model_config = SettingsConfigDict(
        env_prefix="NOTIFIER_", extra="ignore", frozen=True, hide_input_in_errors=True
    )

    kafka_group_id: str = Field(
        default="notifier",
        min_length=1,
        description="Consumer group of the links topic subscriber. Replicas "
        "share one group; a process in another group receives every event again "
        "and mails it again from its own database, which only tests want.",
    )

    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8003, ge=1, le=65535)

    smtp_host: str = Field(min_length=1, description="Host name of the SMTP relay.")
    smtp_port: int = Field(ge=1, le=65535, description="Port of the SMTP relay.")
    smtp_starttls: bool = Field(
        description="Upgrade the connection with STARTTLS before sending. "
        "Defaults to true in production and false elsewhere."
    )
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_helo_hostname: str | None = Field(
        default=None,
        description="Name given in EHLO; defaults to the machine's host name.",
    )
    smtp_timeout_seconds: float = Field(
        default=30.0, gt=0, description="Timeout of each SMTP connect and reply."
    )
    sender: str = Field(
        default=DEFAULT_SENDER, description="From header of every mail sent."
    )
    sms_gateway_domain: str = Field(
        default=DEFAULT_SMS_GATEWAY_DOMAIN,
        pattern=r"^[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$",
        description="Domain of the e-mail-to-SMS gateway on the SMTP relay: a "
        "one-time code for a mobile phone is mailed to <number>@<domain>, and "
        "the gateway sends the mail's text as an SMS.",
    )

    correction_days: int = Field(
        default=30,
        ge=1,
        description="Days the diffusion teams have to correct a refused link.",
    )
    directory_path: Path | None = Field(
        default=None,
        description="TOML file of the académies' addresses; defaults to the "
        "directory shipped with the service.",
    )

    poll_interval_seconds: float = Field(
        default=1.0, gt=0, description="Pause of the sender when no mail is due."
    )
    retry_initial_delay_seconds: float = Field(
        default=10.0, gt=0, description="Delay before the first retry of a mail."
    )
    retry_max_delay_seconds: float = Field(
        default=3600.0, gt=0, description="Upper bound of the delay between retries."
    )
    retry_max_age_seconds: float = Field(
        default=5 * 86400.0,
        gt=0,
        description="Age in seconds after which a mail that still fails for a "
        "temporary reason is parked instead of retried (default 5 days).",
    )
    delivery_alert_after_seconds: float = Field(
        default=4 * 3600.0,
        gt=0,
        description="Age in seconds after which each further failed attempt of "
        "a mail logs the WARNING 'mail_delivery_delayed' (default 4 hours).",
    )

    reminder_days: int = Field(
        default=5,
        ge=1,
        description="Days before a case's correction deadline when the "
        "diffusion team gets a reminder.",
    )
    digest_hour: int = Field(
        default=7,
        ge=0,
        le=23,
        description="Hour of the day, Paris time, from which each académie's "
        "daily digest of open cases is sent.",
    )
    case_tick_interval_seconds: float = Field(
        default=300.0,
        gt=0,
        description="Seconds between two runs of the due reminders, "
        "escalations and digests.",
    )

    consumer_retry_delay_seconds: float = Field(
        default=2.0,
        gt=0,
        description="Pause before a Kafka message that failed for a temporary "
        "reason (database down) is delivered again.",
    )

    @model_validator(mode="before")
    @classmethod
    def _default_starttls_from_environment(cls, data: Any) -> Any:
        # Production relays are reached over the network and must encrypt; a
        # local mail catcher speaks plain SMTP.
        if isinstance(data, dict) and data.get("smtp_starttls") is None:
            environment = data.get("environment", "production")
            data = {**data, "smtp_starttls": environment == "production"}
        return data

    @field_validator("sender")
    @classmethod
    def _check_sender(cls, value: str) -> str:
        _, address = parseaddr(value)
        if "@" not in address:
            raise ValueError(
                f"invalid sender {value!r}: expected a mailbox such as "
                f"{DEFAULT_SENDER!r}"
            )
        return value

    @model_validator(mode="after")
    def _check_smtp_credentials(self) -> "Settings":
        if (self.smtp_username is None) != (self.smtp_password is None):
            raise ValueError(
                "smtp_username and smtp_password must be set together, or neither"
            )
        if self.environment != "production" or self.smtp_password is None:
            return self

        password = self.smtp_password.get_secret_value()
        if password.strip().lower() in PLACEHOLDER_SECRETS:
            raise ValueError(
                "smtp_password is a placeholder; set the relay's real password "
                "before running in production"
            )
        if not self.smtp_starttls:
            raise ValueError(
                "smtp_starttls is false while SMTP credentials are set: the "
                "password would cross the network in clear; enable STARTTLS"
            )
        return self

    @model_validator(mode="after")
    def _check_retry_delays(self) -> "Settings":
        if self.retry_max_delay_seconds < self.retry_initial_delay_seconds:
            raise ValueError(
                f"retry_max_delay_seconds ({self.retry_max_delay_seconds}) is below "
                f"retry_initial_delay_seconds ({self.retry_initial_delay_seconds})"
            )
        if self.retry_max_age_seconds <= self.delivery_alert_after_seconds:
            raise ValueError(
                f"retry_max_age_seconds ({self.retry_max_age_seconds}) is not above "
                f"delivery_alert_after_seconds ({self.delivery_alert_after_seconds}): "
                "a mail would be parked before any delay alert"
            )
        return self
