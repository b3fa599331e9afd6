"""School staff accounts and their scope. A directeur d'école or chef
d'établissement sees one school, an IEN the schools of one circonscription of
``circonscriptions.toml``. Also the command that creates staff accounts and
the audit of their actions."""

import re
import sys
import tomllib
import uuid
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

import asyncpg

from services.identity.accounts import free_identifiant, identifiant_base
from services.identity.passwords import provisional_password
from shared.db import create_pool

CIRCONSCRIPTIONS_FILE = Path(__file__).parent / "circonscriptions.toml"
UAI_PATTERN = re.compile(r"^[0-9]{7}[A-Z]$")
Role = Literal["directeur", "ien"]
ROLES: tuple[Role, ...] = ("directeur", "ien")
AuditAction = Literal[
    "provisional_password_reset",
    "account_disabled",
    "account_enabled",
    "notices_printed",
]


@dataclass(frozen=True)
class Circonscription:
    """The schools an IEN oversees."""

    code: str
    nom: str
    uais: tuple[str, ...]


@dataclass(frozen=True)
class StaffScope:
    """The schools a staff account may see: ``uai`` for a directeur, those of
    ``circonscription`` for an IEN."""

    account_id: uuid.UUID
    role: Role
    uai: str | None
    circonscription: Circonscription | None

    @property
    def uais(self) -> tuple[str, ...]:
        """The schools in the scope."""
        if self.uai is not None:
            return (self.uai,)
        return self.circonscription.uais if self.circonscription else ()


@cache
def load_circonscriptions(
    path: Path = CIRCONSCRIPTIONS_FILE,
) -> dict[str, Circonscription]:
    """Read the circonscriptions by code. Raises ValueError, naming the file
    and the entry, when an entry lacks a field, repeats a code or has a
    malformed UAI."""
    with path.open("rb") as file:
        entries = tomllib.load(file).get("circonscription", [])
    circonscriptions: dict[str, Circonscription] = {}
    for number, entry in enumerate(entries, start=1):
        try:
            circonscription = Circonscription(
                code=entry["code"], nom=entry["nom"], uais=tuple(entry["uais"])
            )
        except KeyError as exc:
            raise ValueError(
                f"{path}: circonscription number {number} has no {exc.args[0]!r}"
            ) from exc
        if circonscription.code in circonscriptions:
            raise ValueError(f"{path}: code {circonscription.code!r} appears twice")
        if bad := [uai for uai in circonscription.uais if not UAI_PATTERN.match(uai)]:
            raise ValueError(
                f"{path}: circonscription {circonscription.code!r} has malformed "
                f"UAI {bad[0]!r}; a UAI is seven digits and a capital letter"
            )
        circonscriptions[circonscription.code] = circonscription
    return circonscriptions


async def staff_scope(
    connection: asyncpg.Connection, account_id: uuid.UUID
) -> StaffScope | None:
    """Return the scope of a staff account, or None for any other account."""
    row = await connection.fetchrow(
        "SELECT role, uai, circonscription FROM staff_scopes WHERE account_id = $1",
        account_id,
    )
    if row is None:
        return None
    circonscription = None
    if row["circonscription"] is not None:
        circonscription = load_circonscriptions().get(row["circonscription"])
    return StaffScope(account_id, row["role"], row["uai"], circonscription)


class StaffInputError(ValueError):
    """A staff account cannot be created with these values."""


async def create_staff_account(
    connection: asyncpg.Connection,
    *,
    role: Role,
    academie: str,
    civilite: str,
    nom: str,
    prenom: str,
    uai: str | None = None,
    circonscription: str | None = None,
) -> asyncpg.Record:
    """Create a staff account not yet activated, with its scope, and return
    its row. The identifiant is built like a responsable's. Raises
    StaffInputError saying which value is wrong and nothing is stored."""
    if role not in ROLES:
        raise StaffInputError(f"role {role!r} is not one of {', '.join(ROLES)}")
    if role == "directeur":
        if uai is None or not UAI_PATTERN.match(uai) or circonscription:
            raise StaffInputError(
                f"a directeur needs --uai (seven digits and a capital letter, "
                f"got {uai!r}) and no --circonscription"
            )
    elif circonscription not in load_circonscriptions() or uai:
        known = ", ".join(load_circonscriptions())
        raise StaffInputError(
            f"an IEN needs --circonscription among {known} (got "
            f"{circonscription!r}) and no --uai; circonscriptions are listed in "
            f"{CIRCONSCRIPTIONS_FILE}"
        )
    if not (nom.strip() and prenom.strip() and civilite.strip() and academie.strip()):
        raise StaffInputError("--nom, --prenom, --civilite and --academie are required")

    base = identifiant_base(prenom, nom)
    async with connection.transaction():
        identifiant = await free_identifiant(connection, base)
        account_id = uuid.uuid4()
        row = await connection.fetchrow(
            """
            INSERT INTO accounts (account_id, identifiant, kind, academie,
                                  civilite, nom, prenom)
            VALUES ($1, $2, 'personnel', $3, $4, $5, $6)
            RETURNING *
            """,
            account_id,
            identifiant,
            academie.strip(),
            civilite.strip(),
            nom.strip(),
            prenom.strip(),
        )
        await connection.execute(
            "INSERT INTO staff_scopes (account_id, role, uai, circonscription)"
            " VALUES ($1, $2, $3, $4)",
            account_id,
            role,
            uai if role == "directeur" else None,
            circonscription if role == "ien" else None,
        )
    return row


async def record_action(
    connection: asyncpg.Connection,
    scope: StaffScope,
    action: AuditAction,
    *,
    uai: str,
    target_account_id: uuid.UUID | None = None,
    classe: str | None = None,
) -> None:
    """Keep who did what on which account, in the caller's transaction."""
    await connection.execute(
        "INSERT INTO staff_audit (staff_account_id, action, target_account_id,"
        " uai, classe) VALUES ($1, $2, $3, $4, $5)",
        scope.account_id,
        action,
        target_account_id,
        uai,
        classe,
    )


def add_personnel_command(commands) -> None:
    """Add ``personnel`` to the command line: create a staff account."""
    command = commands.add_parser(
        "personnel",
        help="create a staff account and print its identifiant and provisional "
        "password",
    )
    command.add_argument("--role", required=True, choices=ROLES)
    command.add_argument("--uai", help="the directeur's school (UAI)")
    command.add_argument("--circonscription", help="the IEN's circonscription code")
    command.add_argument("--civilite", required=True, help="M. or MME")
    command.add_argument("--nom", required=True)
    command.add_argument("--prenom", required=True)
    command.add_argument("--academie", required=True, help="for example versailles")


async def create_and_print_staff_account(
    database_url: str, schema: str, notice_secret: str, arguments
) -> int:
    """Create the staff account the ``personnel`` command describes and print
    « identifiant provisional-password name (scope) ». Returns the exit
    status: 2 with the reason on standard error when a value is refused."""
    pool = await create_pool(database_url, schema, min_size=1, max_size=1)
    try:
        async with pool.acquire() as connection:
            row = await create_staff_account(
                connection,
                role=arguments.role,
                academie=arguments.academie,
                civilite=arguments.civilite,
                nom=arguments.nom,
                prenom=arguments.prenom,
                uai=arguments.uai,
                circonscription=arguments.circonscription,
            )
    except StaffInputError as exc:
        print(f"personnel: {exc}", file=sys.stderr)
        return 2
    finally:
        await pool.close()
    scope = (
        arguments.uai if arguments.role == "directeur" else arguments.circonscription
    )
    password = provisional_password(notice_secret, row["account_id"])
    print(
        f"{row['identifiant']:<24} {password:<12} {row['civilite']} "
        f"{row['prenom']} {row['nom']} ({arguments.role} {scope})"
    )
    return 0
