"""Account messages the identity service requests the notifier to send: one-time
codes by e-mail or SMS, e-mail verification, password reset and activation
confirmation.

They travel on ``Topic.IDENTITY_MESSAGES``, keyed by ``account_id`` so that one
account's messages stay in order, with the same CloudEvents headers as the
other topics. The topic carries codes and reset links, so it needs restricted
access and a short retention.
"""

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

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
    """Identity needs the account holder to type a one-time code sent to
    their e-mail address. ``MobileCodeRequested`` sends one to a mobile
    phone instead."""

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


class MobileCodeRequested(BaseModel):
    """Identity needs someone to type a one-time code sent by SMS to the mobile
    phone of their record in a school's export. The account may not exist yet: when
    the code creates it, ``account_id`` is the id the account will get."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: Literal["account.mobile_code_requested"] = "account.mobile_code_requested"
    account_id: str = Field(
        min_length=1,
        description="Identity's id of the account the code creates or "
        "confirms, also the key.",
    )
    mobile: str = Field(
        pattern=r"^[0-9]{6,15}$",
        description="Mobile phone number the SMS is sent to, digits only in "
        "national form, for example '0612345678'.",
    )
    occurred_at: datetime = Field(description="When identity made the request.")
    code: str = Field(pattern=r"^[0-9]{4,10}$", description="The code, digits only.")
    purpose: Literal["account_creation"] = Field(
        description="What the code confirms; it selects the SMS wording."
    )
    expires_at: datetime


AccountMessage = Annotated[
    OneTimeCodeRequested
    | EmailVerificationRequested
    | PasswordResetRequested
    | AccountActivated
    | MobileCodeRequested,
    Field(discriminator="type"),
]
