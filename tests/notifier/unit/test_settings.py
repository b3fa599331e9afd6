import pytest
from pydantic import ValidationError

from services.notifier.settings import Settings

REQUIRED = {
    "database_url": "postgresql://notifier@127.0.0.1:5432/educonnect",
    "kafka_bootstrap_servers": "127.0.0.1:9092",
    "smtp_host": "127.0.0.1",
    "smtp_port": 2525,
}


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    for name in ("ENVIRONMENT", "SMTP_STARTTLS", "SMTP_USERNAME", "SMTP_PASSWORD"):
        monkeypatch.delenv(f"NOTIFIER_{name}", raising=False)


def make_settings(**values):
    return Settings(**{**REQUIRED, **values})


def test_starttls_defaults_on_in_production():
    assert make_settings(environment="production").smtp_starttls is True


@pytest.mark.parametrize("environment", ["development", "test"])
def test_starttls_defaults_off_elsewhere(environment):
    assert make_settings(environment=environment).smtp_starttls is False


def test_starttls_can_be_disabled_in_production():
    assert make_settings(smtp_starttls=False).smtp_starttls is False


def test_starttls_read_from_environment(monkeypatch):
    monkeypatch.setenv("NOTIFIER_ENVIRONMENT", "development")
    monkeypatch.setenv("NOTIFIER_SMTP_STARTTLS", "true")

    assert make_settings().smtp_starttls is True


def test_defaults():
    settings = make_settings()

    assert settings.correction_days == 30
    assert settings.sender == "EduConnect <ne-pas-repondre@educonnect.example>"
    assert settings.http_host == "127.0.0.1"
    assert settings.directory_path is None


def test_rejects_username_without_password():
    with pytest.raises(ValidationError, match="set together"):
        make_settings(smtp_username="notifier")


def test_rejects_placeholder_password_in_production():
    with pytest.raises(ValidationError, match="placeholder"):
        make_settings(smtp_username="notifier", smtp_password="changeme")


def test_accepts_placeholder_password_in_development():
    settings = make_settings(
        environment="development", smtp_username="notifier", smtp_password="dev"
    )

    assert settings.smtp_password.get_secret_value() == "dev"


def test_rejects_credentials_without_starttls_in_production():
    with pytest.raises(ValidationError, match="in clear"):
        make_settings(
            smtp_starttls=False,
            smtp_username="notifier",
            smtp_password="a-long-random-relay-password",
        )


def test_errors_do_not_quote_password():
    with pytest.raises(ValidationError) as error:
        make_settings(
            smtp_starttls=False,
            smtp_username="notifier",
            smtp_password="a-long-random-relay-password",
        )

    assert "a-long-random-relay-password" not in str(error.value)


def test_rejects_sender_without_address():
    with pytest.raises(ValidationError, match="invalid sender"):
        make_settings(sender="EduConnect")


def test_rejects_max_delay_below_initial():
    with pytest.raises(ValidationError, match="below"):
        make_settings(retry_initial_delay_seconds=60, retry_max_delay_seconds=10)


def test_rejects_missing_smtp_host(monkeypatch):
    monkeypatch.delenv("NOTIFIER_SMTP_HOST", raising=False)
    values = {key: value for key, value in REQUIRED.items() if key != "smtp_host"}

    with pytest.raises(ValidationError, match="smtp_host"):
        Settings(**values)


def test_case_and_delivery_defaults():
    settings = make_settings()

    assert settings.reminder_days == 5
    assert settings.digest_hour == 7
    assert settings.retry_max_age_seconds == 5 * 86400
    assert settings.delivery_alert_after_seconds == 4 * 3600


def test_rejects_max_age_below_alert():
    with pytest.raises(ValidationError, match="not above"):
        make_settings(retry_max_age_seconds=3600, delivery_alert_after_seconds=7200)


def test_reminder_days_read_from_environment(monkeypatch):
    monkeypatch.setenv("NOTIFIER_REMINDER_DAYS", "7")

    assert make_settings().reminder_days == 7
