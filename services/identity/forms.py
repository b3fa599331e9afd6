"""The forms of the front door (*Activation du compte*, *Ajout d'enfants*, new
passwords): reading what the parent typed, and the French message for each
mistake, shown next to the field it concerns."""

import re
import unicodedata
import uuid
from dataclasses import dataclass, field
from datetime import date

from starlette.datastructures import FormData

from services.identity.links_client import Choice, Link
from services.identity.passwords import (
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    estimate_strength,
    password_problem,
)

# Deliberately loose: the address is proven by the mail sent to it, not by a
# pattern. It only catches what is obviously not an address.
# Catches slips, not RFC 5322: no blank, no quote or bracket, one @, a dot
# in the domain.
_EMAIL_PATTERN = re.compile(
    r'^[^@\s<>()\[\],;:"\\]+@[^@\s<>()\[\],;:"\\]+\.[^@\s<>()\[\],;:"\\]+$'
)
# The usual maximum length of an e-mail address.
_EMAIL_MAX_LENGTH = 254
_FRENCH_DATE = re.compile(r"^\s*(\d{1,2})/(\d{1,2})/(\d{4})\s*$")
_ISO_DATE = re.compile(r"^\s*(\d{4})-(\d{2})-(\d{2})\s*$")

MESSAGES = {
    "control_character": "Ce champ contient un caractère invisible qui n'est pas "
    "accepté (caractère de contrôle, souvent ajouté par un copier-coller). "
    "Saisissez-le de nouveau au clavier.",
    "email_missing": "Saisissez votre adresse électronique.",
    "email_invalid": "Saisissez une adresse électronique valide, par exemple "
    "prenom.nom@exemple.fr.",
    "email_mismatch": "Les deux adresses électroniques ne sont pas identiques.",
    "email_taken": "Cette adresse électronique est déjà celle d'un autre compte "
    "ÉduConnect. S'il s'agit de votre compte, retrouvez-le avec « Mot de passe "
    "oublié ? » au lieu d'en créer un second.",
    "email_unchanged": "Cette adresse électronique est déjà celle de votre compte.",
    "login_missing": "Saisissez votre identifiant ou votre adresse électronique.",
    "password_short": f"Le mot de passe doit contenir au moins {MIN_PASSWORD_LENGTH} "
    "caractères.",
    "password_long": f"Le mot de passe doit contenir au plus {MAX_PASSWORD_LENGTH} "
    "caractères.",
    "password_mismatch": "Les deux mots de passe ne sont pas identiques.",
    "password_common": "Ce mot de passe fait partie des plus utilisés et serait "
    "deviné en premier. Choisissez-en un autre, par exemple une phrase de "
    "plusieurs mots.",
    "password_weak": "Ce mot de passe est trop facile à deviner. Allongez-le ou "
    "choisissez une phrase de plusieurs mots sans lien entre eux.",
    "current_password_wrong": "Le mot de passe actuel saisi n'est pas le bon.",
    "no_child_confirmed": "Pour activer votre compte, vous devez répondre « Oui » "
    "pour au moins un enfant.",
    "birth_date_missing": "Saisissez la date de naissance de l'élève au format "
    "JJ/MM/AAAA.",
    "birth_date_invalid": "La date de naissance doit être une date valide au format "
    "JJ/MM/AAAA, par exemple 14/03/2013.",
    "birth_date_mismatch": "La date de naissance saisie ne correspond pas à celle "
    "connue de l'établissement scolaire.",
    "too_many_attempts": "Trop de dates de naissance erronées ont été saisies pour "
    "cet élève, la vérification est donc suspendue un moment. Réessayez plus tard "
    "ou contactez son école ou son établissement.",
    "last_confirmed_link": "Vous ne pouvez pas retirer votre dernier enfant "
    "rattaché : votre compte doit rester rattaché à au moins un élève.",
}
UNKNOWN_DECISION_ERROR = (
    "Ce choix n'a pas pu être enregistré. Merci de réessayer plus tard."
)


def has_control_character(text: str) -> bool:
    """Tell whether ``text`` contains a control character (NUL, tab, line break,
    escape...), which no field of the front door may contain."""
    return any(unicodedata.category(character) == "Cc" for character in text)


def decision_message(code: str) -> str:
    """Return the French message of an error code of the links service."""
    return MESSAGES.get(code, UNKNOWN_DECISION_ERROR)


def rejected_decision_errors(rejected: dict[uuid.UUID, str]) -> dict[str, str]:
    """Return the French message of each decision the links service rejected,
    keyed by the birth-date field of its child."""
    return {
        f"naissance-{link_id}": decision_message(code)
        for link_id, code in rejected.items()
    }


def new_email_errors(
    email: str,
    email_confirmation: str,
    fields: tuple[str, str] = ("email", "email_confirmation"),
) -> dict[str, str]:
    """Return the message for an e-mail address typed twice, keyed by the
    name of the field in error among ``fields``. The two addresses are
    compared case-insensitively."""
    field, confirmation_field = fields
    if has_control_character(email):
        return {field: MESSAGES["control_character"]}
    if has_control_character(email_confirmation):
        return {confirmation_field: MESSAGES["control_character"]}
    if not email:
        return {field: MESSAGES["email_missing"]}
    if (
        len(email) > _EMAIL_MAX_LENGTH
        or not _EMAIL_PATTERN.match(email)
        or any(unicodedata.category(character) == "Cf" for character in email)
    ):
        return {field: MESSAGES["email_invalid"]}
    if email.casefold() != email_confirmation.casefold():
        return {confirmation_field: MESSAGES["email_mismatch"]}
    return {}


def new_password_errors(
    password: str, password_confirmation: str, user_inputs: list[str]
) -> dict[str, str]:
    """Return the messages for a new password typed twice, keyed by field."""
    if has_control_character(password):
        return {"password": MESSAGES["control_character"]}
    if has_control_character(password_confirmation):
        return {"password_confirmation": MESSAGES["control_character"]}
    if problem := password_problem(password, user_inputs):
        message = MESSAGES[problem]
        if problem == "password_weak":
            strength = estimate_strength(password, user_inputs)
            message += f" Force estimée : {strength.label}."
        return {"password": message}
    if password != password_confirmation:
        return {"password_confirmation": MESSAGES["password_mismatch"]}
    return {}


def parse_birth_date(text: str) -> date | None:
    """Read a date typed as JJ/MM/AAAA (or AAAA-MM-JJ from a date picker).
    Returns None when it is not a real date (« 31/02/2012 »)."""
    if match := _FRENCH_DATE.match(text):
        day, month, year = (int(part) for part in match.groups())
    elif match := _ISO_DATE.match(text):
        year, month, day = (int(part) for part in match.groups())
    else:
        return None
    try:
        return date(year, month, day)
    except ValueError:
        return None


@dataclass
class ChildAnswer:
    """Choice typed for one child: 'oui' or 'non', and a birth date."""

    choice: str = "oui"
    birth_date_text: str = ""


@dataclass
class ActivationForm:
    """Fields the parent typed, except the passwords, which are never shown
    back in a page."""

    email: str = ""
    email_confirmation: str = ""
    answers: dict[uuid.UUID, ChildAnswer] = field(default_factory=dict)

    @classmethod
    def blank(cls, links: list[Link]) -> "ActivationForm":
        """Return the form as first shown, with 'Oui' checked for every child."""
        return cls(answers={link.link_id: ChildAnswer() for link in links})

    @classmethod
    def read(cls, form: FormData, links: list[Link]) -> "ActivationForm":
        """Read the submitted fields; an unknown choice counts as 'Oui'."""
        return cls(
            email=str(form.get("email", "")).strip(),
            email_confirmation=str(form.get("email_confirmation", "")).strip(),
            answers=read_answers(form, links),
        )

    def to_data(self) -> dict:
        """Return the form as JSON-compatible data, to keep it in the session."""
        return {
            "email": self.email,
            "email_confirmation": self.email_confirmation,
            "answers": {
                str(link_id): [answer.choice, answer.birth_date_text]
                for link_id, answer in self.answers.items()
            },
        }

    @classmethod
    def from_data(cls, data: dict) -> "ActivationForm":
        """Rebuild a form kept with ``to_data``."""
        return cls(
            email=data["email"],
            email_confirmation=data["email_confirmation"],
            answers={
                uuid.UUID(link_id): ChildAnswer(choice, text)
                for link_id, (choice, text) in data["answers"].items()
            },
        )

    def choices(self) -> list[Choice]:
        """Return the decisions to send to the links service. Call only once
        ``errors`` is empty: every 'Oui' then has a valid birth date."""
        return [
            Choice(
                link_id,
                "confirm" if answer.choice == "oui" else "refuse",
                parse_birth_date(answer.birth_date_text)
                if answer.choice == "oui"
                else None,
            )
            for link_id, answer in self.answers.items()
        ]

    def errors(
        self,
        password: str,
        password_confirmation: str,
        user_inputs: list[str] | None = None,
        *,
        has_confirmed_child: bool = False,
    ) -> dict[str, str]:
        """Return a French message per field in error, keyed by field name;
        ``form`` contains the errors that concern the whole form.
        ``user_inputs`` are words of the person that the password must not
        lean on (name, identifiant). A child already confirmed, by an earlier
        attempt that stopped before the account was stored, counts as a
        'Oui'."""
        errors = new_email_errors(self.email, self.email_confirmation)

        errors |= new_password_errors(
            password, password_confirmation, [self.email, *(user_inputs or [])]
        )

        answered_oui = any(answer.choice == "oui" for answer in self.answers.values())
        if not answered_oui and not has_confirmed_child:
            errors["form"] = MESSAGES["no_child_confirmed"]
        errors |= birth_date_errors(self.answers)
        return errors


def birth_date_errors(answers: dict[uuid.UUID, ChildAnswer]) -> dict[str, str]:
    """Return a message for each 'Oui' without a valid birth date."""
    errors = {}
    for link_id, answer in answers.items():
        if answer.choice != "oui":
            continue
        if has_control_character(answer.birth_date_text):
            errors[f"naissance-{link_id}"] = MESSAGES["control_character"]
        elif not answer.birth_date_text:
            errors[f"naissance-{link_id}"] = MESSAGES["birth_date_missing"]
        elif parse_birth_date(answer.birth_date_text) is None:
            errors[f"naissance-{link_id}"] = MESSAGES["birth_date_invalid"]
    return errors


def read_answers(form: FormData, links: list[Link]) -> dict[uuid.UUID, ChildAnswer]:
    """Read the Oui/Non choice and birth date typed for each child; a missing
    choice takes the child's default (Non for a refused link, else Oui)."""
    answers = {}
    for link in links:
        default = "non" if link.state == "refused" else "oui"
        choice = str(form.get(f"choix-{link.link_id}", default))
        answers[link.link_id] = ChildAnswer(
            choice="non" if choice == "non" else "oui",
            birth_date_text=str(form.get(f"naissance-{link.link_id}", "")).strip(),
        )
    return answers


@dataclass
class ChildrenForm:
    """The *Ajout d'enfants* form of the page intermédiaire: a choice for each
    child not yet confirmed."""

    answers: dict[uuid.UUID, ChildAnswer] = field(default_factory=dict)

    @classmethod
    def blank(cls, links: list[Link]) -> "ChildrenForm":
        """Return the form as first shown: 'Oui' for a proposed child, 'Non'
        for one the parent refused before."""
        return cls(
            answers={
                link.link_id: ChildAnswer("non" if link.state == "refused" else "oui")
                for link in links
            }
        )

    @classmethod
    def read(cls, form: FormData, links: list[Link]) -> "ChildrenForm":
        """Read the submitted choices."""
        return cls(answers=read_answers(form, links))

    def to_data(self) -> dict:
        """Return the form as JSON-compatible data, to keep it in the session."""
        return {
            str(link_id): [answer.choice, answer.birth_date_text]
            for link_id, answer in self.answers.items()
        }

    @classmethod
    def from_data(cls, data: dict) -> "ChildrenForm":
        """Rebuild a form kept with ``to_data``."""
        return cls(
            answers={
                uuid.UUID(link_id): ChildAnswer(choice, text)
                for link_id, (choice, text) in data.items()
            }
        )

    def errors(self) -> dict[str, str]:
        """Return a French message per birth-date field in error."""
        return birth_date_errors(self.answers)

    def changes(self, links: list[Link]) -> list[Choice]:
        """Return the decisions that change a link: confirming any, refusing
        one still proposed. 'Non' on a link already refused changes nothing,
        so no second refusal reaches the school."""
        states = {link.link_id: link.state for link in links}
        choices = []
        for link_id, answer in self.answers.items():
            state = states.get(link_id)
            if state is None or state == "confirmed":
                continue
            if answer.choice == "oui":
                birth_date = parse_birth_date(answer.birth_date_text)
                choices.append(Choice(link_id, "confirm", birth_date))
            elif state == "proposed":
                choices.append(Choice(link_id, "refuse"))
        return choices
