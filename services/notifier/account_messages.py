"""Mails for the account messages the identity service requests: one-time
codes, e-mail verification, password reset and activation confirmation. The
message models are in ``shared.contracts.account_messages``.

A code for a mobile phone goes as an SMS through an e-mail-to-SMS gateway:
a mail to ``<number>@<gateway domain>`` on the same SMTP relay, whose text
the gateway sends as the SMS. So it is queued, retried and recorded like any
other mail."""

from datetime import datetime
from enum import StrEnum
from uuid import UUID

from pydantic import BaseModel

from services.notifier.mail import OutgoingMail, message_id_for
from services.notifier.rendering import paris_time, render
from shared.contracts import Topic
from shared.contracts.account_messages import (
    AccountActivated,
    AccountMessage,
    EmailVerificationRequested,
    MobileCodeRequested,
    OneTimeCodeRequested,
    PasswordResetRequested,
)

ACCOUNT_MESSAGES_TOPIC = Topic.IDENTITY_MESSAGES

ACCOUNT_MESSAGES_CONSUMER = "notifier.account_messages"
"""Inbox name under which account messages are recorded as processed."""


class AccountMailKind(StrEnum):
    """Kinds of account mail, also the template names and Message-ID parts."""

    ONE_TIME_CODE = "one_time_code"
    EMAIL_VERIFICATION = "email_verification"
    PASSWORD_RESET = "password_reset"
    ACTIVATION = "activation"
    MOBILE_CODE = "mobile_code"


_KINDS: dict[type[BaseModel], AccountMailKind] = {
    OneTimeCodeRequested: AccountMailKind.ONE_TIME_CODE,
    EmailVerificationRequested: AccountMailKind.EMAIL_VERIFICATION,
    PasswordResetRequested: AccountMailKind.PASSWORD_RESET,
    AccountActivated: AccountMailKind.ACTIVATION,
    MobileCodeRequested: AccountMailKind.MOBILE_CODE,
}

# Domain of the e-mail-to-SMS gateway when the settings name none; the
# development mail catcher accepts it like any other.
DEFAULT_SMS_GATEWAY_DOMAIN = "sms.educonnect.example"

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


def sms_gateway_address(mobile: str, gateway_domain: str) -> str:
    """Return the gateway address that turns a mail into an SMS to ``mobile``."""
    return f"{mobile}@{gateway_domain}"


def compose_account_mail(
    message: AccountMessage,
    event_id: UUID,
    *,
    sms_gateway_domain: str = DEFAULT_SMS_GATEWAY_DOMAIN,
) -> OutgoingMail:
    """Compose the French mail of ``message`` to the account's address, or
    for a mobile code the SMS text to the gateway address of the number."""
    kind = _KINDS[type(message)]
    context: dict[str, object] = {
        "display_name": getattr(message, "display_name", None)
    }
    match message:
        case OneTimeCodeRequested() | MobileCodeRequested():
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

    if isinstance(message, MobileCodeRequested):
        to = sms_gateway_address(message.mobile, sms_gateway_domain)
    else:
        to = message.email
    rendered = render(kind.value, context)
    return OutgoingMail(
        message_id=message_id_for(event_id, kind.value),
        kind=kind.value,
        event_id=event_id,
        academie=NO_ACADEMIE,
        to=(to,),
        cc=(),
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
    )
