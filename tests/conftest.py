"""Fixtures shared by every test folder: the local stack (PostgreSQL, Kafka, a
mail catcher) started once per session, a fresh database per test, and the
whole system running on the sample académie for end-to-end tests."""

import asyncio
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest
from hypothesis import settings

from shared.devstack.mailcatcher import MailCatcher
from shared.devstack.stack import LocalStack

pytest_plugins = ["shared.devstack.pytest_plugin"]

REPO_ROOT = Path(__file__).resolve().parents[1]
SAMPLES = REPO_ROOT.parent / "shared" / "samples"
SAMPLE_ACADEMIE = "versailles"

# Tests do not time things: hypothesis's default 200 ms limit per example
# can fail a correct example on a busy machine.
settings.register_profile("untimed", deadline=None)
settings.load_profile("untimed")


@pytest.fixture
async def fresh_database_url(local_stack: LocalStack) -> str:
    """Return the URL of a new, empty database of the session's cluster."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    connection = await asyncpg.connect(local_stack.database_url)
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return local_stack.database_url.rsplit("/", 1)[0] + f"/{name}"


@dataclass
class SampleSystem:
    """The four services running on the week-1 sample exports."""

    stack: LocalStack
    identity_url: str
    links_url: str
    mail: MailCatcher
    import_output: str

    def notice(self, responsable_id: str) -> tuple[str, str]:
        """Return the identifiant and provisional password of a responsable."""
        output = self.stack.run_command(
            "identity", "notices", "--responsable", responsable_id, log_name="notices"
        )
        identifiant, password, *_ = output.split()
        return identifiant, password

    def pupil_notice(self, eleve_id: str) -> tuple[str, str]:
        """Return the identifiant and provisional password of a pupil, once
        identity has consumed the pupil (up to a minute after the import)."""
        for _ in range(60):
            output = self.stack.run_command(
                "identity", "notices", "--eleve", eleve_id, log_name="notices"
            )
            if output.strip():
                identifiant, password, *_ = output.split()
                return identifiant, password
            time.sleep(1)
        raise AssertionError(f"no pending notice for pupil {eleve_id!r}")

    async def pupil_account(self, eleve_id: str) -> asyncpg.Record:
        """Return a pupil's account row, once identity has consumed the pupil
        (up to a minute after the import)."""
        connection = await asyncpg.connect(self.stack.database_url)
        try:
            for _ in range(60):
                account = await connection.fetchrow(
                    "SELECT * FROM identity.accounts WHERE eleve_id = $1", eleve_id
                )
                if account is not None:
                    return account
                await asyncio.sleep(1)
        finally:
            await connection.close()
        raise AssertionError(f"no account for pupil {eleve_id!r}")

    def staff_account(self, role: str, scope: str) -> tuple[str, str]:
        """Create a staff account, a directeur of the school ``scope`` (UAI) or
        an IEN of the circonscription ``scope``, and return its identifiant
        and provisional password."""
        option = "--uai" if role == "directeur" else "--circonscription"
        output = self.stack.run_command(
            "identity",
            "personnel",
            "--role",
            role,
            option,
            scope,
            "--civilite",
            "MME",
            "--nom",
            "PERSONNEL",
            "--prenom",
            "Claire",
            "--academie",
            SAMPLE_ACADEMIE,
            log_name="personnel",
        )
        identifiant, password, *_ = output.split()
        return identifiant, password

    async def link_states(self, responsable_id: str) -> dict[str, str]:
        """Return the state of each of a responsable's links, by pupil id."""
        connection = await asyncpg.connect(self.stack.database_url)
        try:
            rows = await connection.fetch(
                "SELECT eleve_id, state::text FROM links.links"
                " WHERE responsable_id = $1",
                responsable_id,
            )
        finally:
            await connection.close()
        return {row["eleve_id"]: row["state"] for row in rows}

    async def account(self, responsable_id: str) -> asyncpg.Record | None:
        """Return a responsable's account row."""
        connection = await asyncpg.connect(self.stack.database_url)
        try:
            return await connection.fetchrow(
                "SELECT * FROM identity.accounts WHERE responsable_id = $1",
                responsable_id,
            )
        finally:
            await connection.close()


@pytest.fixture(scope="session")
def sample_system(
    local_stack: LocalStack, running_services: dict[str, str]
) -> SampleSystem:
    """Start the services and import the week-1 SIECLE and ONDE samples."""
    output = local_stack.run_importer(
        SAMPLE_ACADEMIE, [SAMPLES / "siecle" / "week1", SAMPLES / "onde" / "week1"]
    )
    return SampleSystem(
        stack=local_stack,
        identity_url=running_services["identity"],
        links_url=running_services["links"],
        mail=local_stack.mail,
        import_output=output,
    )


# A small export of another académie for account creation and grouping:
# two homonym responsables « Martin DUBOIS » with different mobiles, one of
# them also known to a collège with the same mobile, a responsable with a
# notice in an école and another in a collège (Claire LEROY), and one with
# the same mobile in both (Inès PETIT), and Karim HADDAD, who only logs in.
# Nobody in it is in the week-1 samples.
CREATION_ACADEMIE = "dijon"
CREATION_ECOLE = "0999301K"
CREATION_COLLEGE = "0999302L"
_ONDE_ELEVES_HEADER = (
    "Nom élève;Nom d'usage élève;Prénom élève;Date naissance;Sexe;INE;Adresse1;"
    "Cp1;Commune1;Pays1;Adresse2;Cp2;Commune2;Pays2; Cycle;Niveau;"
    "Libellé classe;Identifiant classe;Attestation fournie;"
    "Autorisation associations;Autorisation photo;Décision de passage"
)
_ONDE_RESPONSABLES_HEADER = (
    "Civilité Responsable;Nom usage responsable;Nom responsable;"
    "Prénom responsable;Adresse responsable;CP responsable;Commune responsable;"
    "Pays;Courriel;Téléphone domicile;Téléphone travail;Téléphone portable"
    + ";Nom d'usage enfant;Nom de famille enfant;Prénom enfant;Classes enfants"
    * 3
)
# (nom, prénom, birth date, sex, INE, class)
_ONDE_PUPILS = [
    ("DUBOIS", "Léa", "12/05/2018", "F", "9800000011A", "CP Mme Fictive"),
    ("DUBOIS", "Tom", "03/09/2016", "M", "9800000012B", "CE2 M. Fictif"),
    ("LEROY", "Zoé", "21/01/2017", "F", "9800000013C", "CE1 Mme Fictive"),
    ("MOREAU", "Nina", "08/07/2016", "F", "9800000014D", "CE2 M. Fictif"),
    ("PETIT", "Noah", "17/03/2017", "M", "9800000015E", "CE1 Mme Fictive"),
    ("HADDAD", "Adam", "02/12/2016", "M", "9800000016F", "CE2 M. Fictif"),
    ("GIRARD", "Lou", "25/10/2017", "F", "9800000017G", "CE1 Mme Fictive"),
]
# (civilité, nom, prénom, e-mail, mobile, child's prénom)
_ONDE_RESPONSABLES = [
    ("M.", "DUBOIS", "Martin", "martin.dubois@example.org", "06 39 98 10 01", "Léa"),
    ("M.", "DUBOIS", "Martin", "m.dubois@example.net", "06 39 98 10 02", "Tom"),
    ("MME", "LEROY", "Claire", "claire.leroy@example.org", "06 39 98 10 03", "Zoé"),
    ("M.", "MOREAU", "Paul", "paul.moreau@example.org", "06 39 98 10 04", "Nina"),
    ("MME", "PETIT", "Inès", "ines.petit@example.org", "07 39 98 10 05", "Noah"),
    ("M.", "HADDAD", "Karim", "karim.haddad@example.org", "06 39 98 10 06", "Adam"),
    ("MME", "GIRARD", "Léna", "lena.girard@example.org", "06 39 98 10 07", "Lou"),
]


def _siecle_eleves() -> str:
    pupils = [
        ("5300001", "9800000021A", "DUBOIS", "Hugo", "14/02/2012", "4EME1"),
        ("5300002", "9800000022B", "LEROY", "Jade", "30/06/2014", "6EME1"),
        ("5300003", "9800000023C", "PETIT", "Rose", "09/10/2013", "5EME1"),
    ]
    eleves = "".join(
        f"""
      <ELEVE ELEVE_ID="{eleve_id}" ELENOET="{eleve_id[-4:]}">
        <ID_NATIONAL>{ine}</ID_NATIONAL>
        <NOM>{nom}</NOM>
        <PRENOM>{prenom}</PRENOM>
        <DATE_NAISS>{naissance}</DATE_NAISS>
        <CODE_SEXE>1</CODE_SEXE>
        <DATE_ENTREE>01/09/2025</DATE_ENTREE>
        <DATE_SORTIE/>
      </ELEVE>"""
        for eleve_id, ine, nom, prenom, naissance, _ in pupils
    )
    structures = "".join(
        f"""
      <STRUCTURES_ELEVE ELEVE_ID="{eleve_id}" ELENOET="{eleve_id[-4:]}">
        <STRUCTURE>
          <CODE_STRUCTURE>{division}</CODE_STRUCTURE>
          <TYPE_STRUCTURE>D</TYPE_STRUCTURE>
        </STRUCTURE>
      </STRUCTURES_ELEVE>"""
        for eleve_id, *_, division in pupils
    )
    return f"""<?xml version="1.0" encoding="ISO-8859-15"?>
<BEE_ELEVES VERSION="2.1">
  <PARAMETRES>
    <UAJ>{CREATION_COLLEGE}</UAJ>
    <ANNEE_SCOLAIRE>2025</ANNEE_SCOLAIRE>
    <DATE_EXPORT>12/01/2026</DATE_EXPORT>
  </PARAMETRES>
  <DONNEES>
    <ELEVES>{eleves}
    </ELEVES>
    <STRUCTURES>{structures}
    </STRUCTURES>
  </DONNEES>
</BEE_ELEVES>
"""


def _siecle_responsables() -> str:
    people = [
        ("8100001", "M.", "DUBOIS", "Martin", "+33 6 39 98 10 01", "", "5300001"),
        (
            "8100002",
            "MME",
            "LEROY",
            "Claire",
            "06 39 98 10 09",
            "claire.leroy@example.com",
            "5300002",
        ),
        (
            "8100003",
            "MME",
            "PETIT",
            "Inès",
            "07 39 98 10 05",
            "ines.petit@example.org",
            "5300003",
        ),
    ]
    personnes = "".join(
        f"""
      <PERSONNE PERSONNE_ID="{personne_id}">
        <NOM>{nom}</NOM>
        <PRENOM>{prenom}</PRENOM>
        <LC_CIVILITE>{civilite}</LC_CIVILITE>
        <TEL_PORTABLE>{mobile}</TEL_PORTABLE>
        {f"<MEL>{email}</MEL>" if email else ""}
      </PERSONNE>"""
        for personne_id, civilite, nom, prenom, mobile, email, _ in people
    )
    liens = "".join(
        f"""
      <RESPONSABLE_ELEVE>
        <ELEVE_ID>{eleve_id}</ELEVE_ID>
        <PERSONNE_ID>{personne_id}</PERSONNE_ID>
        <RESP_LEGAL>1</RESP_LEGAL>
        <CODE_PARENTE>20</CODE_PARENTE>
      </RESPONSABLE_ELEVE>"""
        for personne_id, *_, eleve_id in people
    )
    return f"""<?xml version="1.0" encoding="ISO-8859-15"?>
<BEE_RESPONSABLES VERSION="1.7">
  <PARAMETRES>
    <UAJ>{CREATION_COLLEGE}</UAJ>
    <ANNEE_SCOLAIRE>2025</ANNEE_SCOLAIRE>
    <DATE_EXPORT>12/01/2026</DATE_EXPORT>
  </PARAMETRES>
  <DONNEES>
    <PERSONNES>{personnes}
    </PERSONNES>
    <RESPONSABLES>{liens}
    </RESPONSABLES>
  </DONNEES>
</BEE_RESPONSABLES>
"""


def write_creation_exports(folder: Path) -> list[Path]:
    """Write the ONDE école and the SIECLE collège of the creation export
    under ``folder``; returns the folders to import."""
    ecole = folder / "onde" / CREATION_ECOLE
    college = folder / "siecle" / CREATION_COLLEGE
    ecole.mkdir(parents=True)
    college.mkdir(parents=True)

    eleves = [_ONDE_ELEVES_HEADER] + [
        f"{nom};;{prenom};{naissance};{sexe};{ine};1 rue Fictive;99110;"
        f"BELLETERRE-SUR-FICTION;FRANCE;;;;;CYCLE II;CE2;{classe};4100{index};"
        "Oui;Non;Non;"
        for index, (nom, prenom, naissance, sexe, ine, classe) in enumerate(
            _ONDE_PUPILS
        )
    ]
    classes = {prenom: (nom, classe) for nom, prenom, *_, classe in _ONDE_PUPILS}
    responsables = [_ONDE_RESPONSABLES_HEADER] + [
        f"{civilite};;{nom};{prenom};1 rue Fictive;99110;BELLETERRE-SUR-FICTION;"
        f"FRANCE;{email};;;{mobile};;{classes[child][0]};{child};"
        f"{classes[child][1]};;;;;;;;"
        for civilite, nom, prenom, email, mobile, child in _ONDE_RESPONSABLES
    ]
    (ecole / "eleves.csv").write_bytes(("\n".join(eleves) + "\n").encode("cp1252"))
    (ecole / "responsables.csv").write_bytes(
        ("\n".join(responsables) + "\n").encode("cp1252")
    )
    (college / "ElevesSansAdresses.xml").write_bytes(
        _siecle_eleves().encode("iso-8859-15")
    )
    (college / "ResponsablesAvecAdresses.xml").write_bytes(
        _siecle_responsables().encode("iso-8859-15")
    )
    return [folder / "onde", folder / "siecle"]


@pytest.fixture(scope="session")
def creation_system(
    sample_system: SampleSystem, tmp_path_factory: pytest.TempPathFactory
) -> SampleSystem:
    """The sample system with the creation export imported too, once every
    record of it has its account and its links."""
    folders = write_creation_exports(tmp_path_factory.mktemp("creation-exports"))
    output = sample_system.stack.run_importer(CREATION_ACADEMIE, folders)

    async def imported() -> tuple[int, int]:
        connection = await asyncpg.connect(sample_system.stack.database_url)
        try:
            accounts = await connection.fetchval(
                "SELECT count(*) FROM identity.accounts"
                " WHERE academie = $1 AND responsable_id IS NOT NULL",
                CREATION_ACADEMIE,
            )
            links = await connection.fetchval(
                "SELECT count(*) FROM links.links"
                " WHERE responsable_id LIKE 'onde:' || $1 || ':%'"
                " OR responsable_id LIKE 'siecle:81%'",
                CREATION_ECOLE,
            )
        finally:
            await connection.close()
        return accounts, links

    deadline = time.monotonic() + 60
    while (counts := asyncio.run(imported())) != (10, 10):
        assert time.monotonic() < deadline, (
            f"accounts and links of the creation export: {counts}, expected "
            f"(10, 10); importer output:\n{output}"
        )
        time.sleep(0.5)
    return sample_system
