"""Account messages that the identity service requests the notifier to send
to a responsable or a pupil: one-time codes, e-mail verification, password reset
and activation confirmation.

The contract below is the notifier's side of the ``educonnect.identity.
messages.v1`` topic, keyed by ``account_id`` so one account's messages stay in
order, with the same CloudEvents headers as the other topics (``ce_id`` is the
message's id, from which its Message-ID derives).

NOTE: the models and the topic belong in ``shared.contracts`` once the
identity service publishes them; they live here until then, and the
notifier's subscriber is the only code that reads them.
"""

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from services.notifier.mail import OutgoingMail, message_id_for
from services.notifier.rendering import paris_time, render

ACCOUNT_MESSAGES_TOPIC = "educonnect.identity.messages.v1"
"""Topic of the account messages. Key: ``account_id``."""

ACCOUNT_MESSAGES_CONSUMER = "notifier.account_messages"
"""Inbox name under which account messages are recorded as processed."""

# Same loose check as the académie directory: it catches slips, not RFC 5322.
_ADDRESS_PATTERN = r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+$"


class _AccountMessage(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    account_id: str = Field(
        min_length=1, description="Identity's id of the account, also the key."
    )
    email: str = Field(
        pattern=_ADDRESS_PATTERN, description="Address the message is sent to."
    )
    display_name: str | None = Field(
        default=None,
        description="Name for the greeting, for example 'Mme Durand'; "
        "'Bonjour,' alone when absent.",
    )
    occurred_at: datetime = Field(description="When identity made the request.")


class OneTimeCodeRequested(_AccountMessage):
    """Identity needs the account holder to type a one-time code.

    NOTE: the code goes by e-mail only. The notifier has no SMS gateway, so
    a code for the mobile phone known to the school cannot be sent yet."""

    type: Literal["account.one_time_code_requested"] = "account.one_time_code_requested"
    code: str = Field(pattern=r"^[0-9]{4,10}$", description="The code, digits only.")
    purpose: Literal["account_creation", "login", "email_change"] = Field(
        description="What the code confirms; it selects the mail's wording."
    )
    expires_at: datetime


class EmailVerificationRequested(_AccountMessage):
    """Identity needs the account holder to prove that ``email`` is theirs."""

    type: Literal["account.email_verification_requested"] = (
        "account.email_verification_requested"
    )
    verification_url: str = Field(pattern=r"^https?://\S+$")
    expires_at: datetime


class PasswordResetRequested(_AccountMessage):
    """The account holder asked to choose a new password."""

    type: Literal["account.password_reset_requested"] = (
        "account.password_reset_requested"
    )
    reset_url: str = Field(pattern=r"^https?://\S+$")
    expires_at: datetime


class AccountActivated(_AccountMessage):
    """The account holder activated their account."""

    type: Literal["account.activated"] = "account.activated"
    login: str = Field(min_length=1, description="Identifiant used to log in.")


AccountMessage = Annotated[
    OneTimeCodeRequested
    | EmailVerificationRequested
    | PasswordResetRequested
    | AccountActivated,
    Field(discriminator="type"),
]


class AccountMailKind(StrEnum):
    """Kinds of account mail, also the template names and Message-ID parts."""

    ONE_TIME_CODE = "one_time_code"
    EMAIL_VERIFICATION = "email_verification"
    PASSWORD_RESET = "password_reset"
    ACTIVATION = "activation"


_KINDS: dict[type[BaseModel], AccountMailKind] = {
    OneTimeCodeRequested: AccountMailKind.ONE_TIME_CODE,
    EmailVerificationRequested: AccountMailKind.EMAIL_VERIFICATION,
    PasswordResetRequested: AccountMailKind.PASSWORD_RESET,
    AccountActivated: AccountMailKind.ACTIVATION,
}

PURPOSE_LABELS = {
    "account_creation": "créer votre compte EduConnect",
    "login": "vous connecter à EduConnect",
    "email_change": "confirmer votre nouvelle adresse électronique",
}

# The academie column of the mail queue; account mails belong to none.
NO_ACADEMIE = "-"


def expires_at(message: AccountMessage) -> datetime | None:
    """Return when ``message`` stops being useful, or None if never."""
    return getattr(message, "expires_at", None)


def compose_account_mail(message: AccountMessage, event_id: UUID) -> OutgoingMail:
    """Compose the French mail of ``message`` to the account's address."""
    kind = _KINDS[type(message)]
    context: dict[str, object] = {"display_name": message.display_name}
    match message:
        case OneTimeCodeRequested():
            context["code"] = message.code
            context["purpose"] = PURPOSE_LABELS[message.purpose]
        case EmailVerificationRequested():
            context["url"] = message.verification_url
        case PasswordResetRequested():
            context["url"] = message.reset_url
        case AccountActivated():
            context["login"] = message.login
            activated_at = paris_time(message.occurred_at)
            context["activated_on"] = f"{activated_at:%d/%m/%Y}"
            context["activated_at"] = f"{activated_at:%H} h {activated_at:%M}"
    expiry = expires_at(message)
    if expiry is not None:
        local_expiry = paris_time(expiry)
        context["expires_on"] = f"{local_expiry:%d/%m/%Y}"
        context["expires_at"] = f"{local_expiry:%H} h {local_expiry:%M}"

    rendered = render(kind.value, context)
    return OutgoingMail(
        message_id=message_id_for(event_id, kind.value),
        kind=kind.value,
        event_id=event_id,
        academie=NO_ACADEMIE,
        to=(message.email,),
        cc=(),
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
    )
