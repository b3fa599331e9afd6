"""Small export files written for tests: a valid SIECLE or ONDE school that a
test then breaks in one place."""

from pathlib import Path

UAI = "0999101E"

ELEVE = """
      <ELEVE ELEVE_ID="{eleve_id}">
        <ID_NATIONAL>{ine}</ID_NATIONAL>
        <NOM_DE_FAMILLE>{nom}</NOM_DE_FAMILLE>
        <NOM_USAGE/>
        <PRENOM>{prenom}</PRENOM>
        <DATE_NAISS>{date_naissance}</DATE_NAISS>
        <DATE_SORTIE>{date_sortie}</DATE_SORTIE>
      </ELEVE>"""

STRUCTURE = """
      <STRUCTURES_ELEVE ELEVE_ID="{eleve_id}">
        <STRUCTURE>
          <CODE_STRUCTURE>{division}</CODE_STRUCTURE>
          <TYPE_STRUCTURE>D</TYPE_STRUCTURE>
        </STRUCTURE>
      </STRUCTURES_ELEVE>"""

PERSONNE = """
      <PERSONNE PERSONNE_ID="{personne_id}">
        <NOM_DE_FAMILLE>{nom}</NOM_DE_FAMILLE>
        <PRENOM>{prenom}</PRENOM>
        <LC_CIVILITE>{civilite}</LC_CIVILITE>
        <MEL>{email}</MEL>
      </PERSONNE>"""

LINK = """
      <RESPONSABLE_ELEVE>
        <ELEVE_ID>{eleve_id}</ELEVE_ID>
        <PERSONNE_ID>{personne_id}</PERSONNE_ID>
        <NIVEAU_RESPONSABILITE>{niveau}</NIVEAU_RESPONSABILITE>
        <CODE_PARENTE>10</CODE_PARENTE>
      </RESPONSABLE_ELEVE>"""

PARAMETRES = """
  <PARAMETRES>
    <UAJ>{uaj}</UAJ>
    <DATE_EXPORT>12/01/2026</DATE_EXPORT>
  </PARAMETRES>"""


def eleves_xml(
    pupils: str | None = None, structures: str | None = None, uaj: str = UAI
) -> str:
    """Return an ElevesSansAdresses document, by default with two pupils."""
    if pupils is None:
        pupils = eleve("4300001", "9900000001W") + eleve("4300002", "9900000002E")
    if structures is None:
        structures = structure("4300001", "5A") + structure("4300002", "5A")
    return (
        '<?xml version="1.0" encoding="ISO-8859-15"?>\n<BEE_ELEVES VERSION="2.1">'
        f"{PARAMETRES.format(uaj=uaj)}\n  <DONNEES>"
        f"\n    <ELEVES>{pupils}\n    </ELEVES>"
        f"\n    <STRUCTURES>{structures}\n    </STRUCTURES>"
        "\n  </DONNEES>\n</BEE_ELEVES>\n"
    )


def responsables_xml(
    personnes: str | None = None, links: str | None = None, uaj: str = UAI
) -> str:
    """Return a ResponsablesAvecAdresses document, by default with one mother
    of both default pupils."""
    if personnes is None:
        personnes = personne("7100001")
    if links is None:
        links = link("4300001", "7100001") + link("4300002", "7100001")
    return (
        '<?xml version="1.0" encoding="ISO-8859-15"?>\n'
        '<BEE_RESPONSABLES VERSION="1.7">'
        f"{PARAMETRES.format(uaj=uaj)}\n  <DONNEES>\n    <PERSONNES>{personnes}"
        f"\n    </PERSONNES>\n    <RESPONSABLES>{links}\n    </RESPONSABLES>"
        "\n  </DONNEES>\n</BEE_RESPONSABLES>\n"
    )


def eleve(
    eleve_id: str,
    ine: str,
    *,
    nom: str = "MOREL",
    prenom: str = "Zoé",
    date_naissance: str = "14/03/2013",
    date_sortie: str = "",
) -> str:
    """Return an ELEVE element."""
    return ELEVE.format(
        eleve_id=eleve_id,
        ine=ine,
        nom=nom,
        prenom=prenom,
        date_naissance=date_naissance,
        date_sortie=date_sortie,
    )


def structure(eleve_id: str, division: str) -> str:
    """Return a STRUCTURES_ELEVE element placing a pupil in a division."""
    return STRUCTURE.format(eleve_id=eleve_id, division=division)


def personne(
    personne_id: str,
    *,
    nom: str = "MOREL",
    prenom: str = "Claire",
    civilite: str = "MME",
    email: str = "claire.morel@example.org",
) -> str:
    """Return a PERSONNE element."""
    return PERSONNE.format(
        personne_id=personne_id, nom=nom, prenom=prenom, civilite=civilite, email=email
    )


def link(eleve_id: str, personne_id: str, niveau: str = "1") -> str:
    """Return a RESPONSABLE_ELEVE element in the current layout."""
    return LINK.format(eleve_id=eleve_id, personne_id=personne_id, niveau=niveau)


def write_siecle(
    folder: Path,
    eleves: str | bytes | None = None,
    responsables: str | bytes | None = None,
) -> tuple[Path, Path]:
    """Write both SIECLE files, ISO-8859-15 encoded unless given as bytes."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = (
        folder / "ElevesSansAdresses.xml",
        folder / "ResponsablesAvecAdresses.xml",
    )
    if eleves is None:
        eleves = eleves_xml()
    if responsables is None:
        responsables = responsables_xml()
    for path, content in zip(paths, (eleves, responsables), strict=True):
        data = content if isinstance(content, bytes) else content.encode("iso-8859-15")
        path.write_bytes(data)
    return paths


ONDE_ELEVES_HEADER = (
    "Nom élève;Nom d'usage élève;Prénom élève;Date naissance;Sexe;INE;Adresse1;"
    "Cp1;Commune1;Pays1;Adresse2;Cp2;Commune2;Pays2; Cycle;Niveau;Libellé classe;"
    "Identifiant classe;Attestation fournie;Autorisation associations;"
    "Autorisation photo;Décision de passage"
)
ONDE_RESPONSABLES_HEADER = (
    "Civilité Responsable;Nom usage responsable;Nom responsable;"
    "Prénom responsable;Adresse responsable;CP responsable;Commune responsable;"
    "Pays;Courriel;Téléphone domicile;Téléphone travail;Téléphone portable"
    + ";Nom d'usage enfant;Nom de famille enfant;Prénom enfant;Classes enfants"
    * 3
)


def onde_eleve_row(
    nom: str = "BENALI",
    prenom: str = "Inès",
    date_naissance: str = "10/11/2017",
    ine: str = "9900000008G",
    classe: str = "CE2 M. Imaginaire",
) -> str:
    """Return a line of eleves.csv."""
    return (
        f"{nom};;{prenom};{date_naissance};F;{ine};1 rue Haute;99110;BELLETERRE;"
        f"FRANCE;;;;;CYCLE II;CE2;{classe};41002;Oui;Non;Non;"
    )


def onde_responsable_row(
    *children: tuple[str, str, str],
    civilite: str = "MME",
    nom: str = "BENALI",
    prenom: str = "Nadia",
    email: str = "nadia.benali@example.org",
    mobile: str = "06 39 98 00 15",
) -> str:
    """Return a line of responsables.csv; each child is (nom, prénom, classe)."""
    groups = [
        f";{nom_enfant};{prenom_enfant};{classe}"
        for nom_enfant, prenom_enfant, classe in children
    ]
    groups += [";;;"] * (3 - len(groups))
    return (
        f"{civilite};;{nom};{prenom};1 rue Haute;99110;BELLETERRE;FRANCE;{email};;;"
        f"{mobile};" + ";".join(groups)
    )


DEFAULT_CHILD = ("BENALI", "Inès", "CE2 M. Imaginaire")


def write_onde(
    folder: Path,
    eleves: str | bytes | None = None,
    responsables: str | bytes | None = None,
) -> tuple[Path, Path]:
    """Write both ONDE files, Windows-1252 encoded unless given as bytes.
    Text is given without its header line, which is added."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = (folder / "eleves.csv", folder / "responsables.csv")
    if eleves is None:
        eleves = onde_eleve_row() + "\n"
    if responsables is None:
        responsables = onde_responsable_row(DEFAULT_CHILD) + "\n"
    headers = (ONDE_ELEVES_HEADER, ONDE_RESPONSABLES_HEADER)
    for path, header, content in zip(
        paths, headers, (eleves, responsables), strict=True
    ):
        if isinstance(content, str):
            content = f"{header}\n{content}".encode("cp1252")
        path.write_bytes(content)
    return paths
