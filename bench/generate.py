"""Generate a synthetic académie in the formats the importer reads.

    python bench/generate.py OUT [--pupils 1000000] [--changed 0.01] [--seed 1]

Writes ``OUT/onde/<UAI>/{eleves,responsables}.csv`` (Windows-1252, one école
per folder) and ``OUT/siecle/<UAI>/{ElevesSansAdresses,
ResponsablesAvecAdresses}.xml`` (ISO-8859-15, one collège per folder). Half
of the pupils are in écoles of 150, half in collèges of 600. Four pupils in
five have two legal representatives and the others one, so there are about
1.8 responsables per pupil. In SIECLE each pupil also has a contact who is
not a legal representative, as in real exports.

``--changed`` gives the share of pupils that differ from the same seed's
export without it: each such pupil changes class and replaces its second
responsable (or gains one), so pupils, links and responsables change in
that proportion. Values are fictitious: INE start with 99 and UAI with 099.
"""

import argparse
import random
from pathlib import Path

ECOLE_SIZE = 150
COLLEGE_SIZE = 600
TWO_RESPONSABLES = 0.8

NOMS = (
    "MARTIN|BERNARD|DUBOIS|THOMAS|ROBERT|RICHARD|PETIT|DURAND|LEROY|MOREAU|"
    "SIMON|LAURENT|LEFÈVRE|MICHEL|GARCIA|DAVID|BERTRAND|ROUX|VINCENT|FOURNIER|"
    "MOREL|GIRARD|ANDRÉ|MERCIER|BLANC|GUÉRIN|BOYER|N'DIAYE|ÉLUARD-N'DIAYE|"
    "DE LA FONTAINE-ROCHE|BENALI|NGUYEN|FONTAINE|CHEVALIER|ŒUVRARD"
).split("|")
PRENOMS_ELEVES = (
    "Zoé Inès Léa Chloé Manon Jade Louise Emma Hélène Maëlys Adam Léo Noé "
    "Théo Jules Raphaël Éloïse Gabriel Lina Aïssatou Mathéo Anaïs Loïc Célia"
).split(" ")
PRENOMS_ADULTES = (
    "Claire Nadia Sophie Aurélie Céline Hélène Marie Fatou Élodie Paul Karim "
    "Jérôme François Ousmane Stéphane Loïc Benoît Jean-Noël Grégoire"
).split(" ")
NIVEAUX_1D = ("CP", "CE1", "CE2", "CM1", "CM2")
NIVEAUX_2D = ("6", "5", "4", "3")


def main() -> None:
    """Parse the arguments and write the académie."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="folder to write (created)")
    parser.add_argument("--pupils", type=int, default=1_000_000)
    parser.add_argument(
        "--changed",
        type=float,
        default=0.0,
        help="share of changed pupils, 0.01 = 1 %%",
    )
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    counts = generate(args.out, args.pupils, changed=args.changed, seed=args.seed)
    print(
        f"{args.out}: {counts['pupils']} pupils, {counts['responsables']} "
        f"responsables, {counts['ecoles']} écoles, {counts['colleges']} collèges"
    )


def generate(
    out: Path, pupils: int, *, changed: float = 0.0, seed: int = 1
) -> dict[str, int]:
    """Write the académie and return its counts."""
    counts = {"pupils": 0, "responsables": 0, "ecoles": 0, "colleges": 0}
    onde_pupils = pupils // 2
    number = 0
    school = 0
    while number < pupils:
        is_ecole = number < onde_pupils
        size = ECOLE_SIZE if is_ecole else COLLEGE_SIZE
        end = min(number + size, onde_pupils if is_ecole else pupils)
        family = [_pupil(n, seed, changed) for n in range(number, end)]
        uai = _uai(school)
        if is_ecole:
            _write_onde(out / "onde" / uai, family)
            counts["ecoles"] += 1
        else:
            _write_siecle(out / "siecle" / uai, uai, family)
            counts["colleges"] += 1
        counts["pupils"] += len(family)
        counts["responsables"] += sum(len(p["responsables"]) for p in family)
        number, school = end, school + 1
    return counts


def _uai(school: int) -> str:
    letters = "ABCDEFGHJKLMNPRSTUVWXYZ"
    return f"099{school:04d}{letters[school % len(letters)]}"


def _pupil(number: int, seed: int, changed: float) -> dict:
    """Return one pupil and its responsables; the same for a number and seed
    whatever ``changed`` is, except for the changed pupils."""
    rng = random.Random(seed * 10_000_000 + number)
    nom = rng.choice(NOMS)
    responsables = [_adult(rng, number, 1, nom, "MME")]
    if rng.random() < TWO_RESPONSABLES:
        responsables.append(_adult(rng, number, 2, nom, "M."))
    pupil = {
        "number": number,
        "ine": f"99{number:08d}{'ABCDEFGHJK'[number % 10]}",
        "nom": nom,
        "prenom": rng.choice(PRENOMS_ELEVES),
        "naissance": f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/"
        f"{rng.randint(2010, 2020)}",
        "division": rng.randint(1, 5),
        "responsables": responsables,
    }
    # The draw comes last, so a changed share never shifts the values above.
    if rng.random() < changed:
        pupil["division"] += 5
        replacement = _adult(rng, number, 3, nom, "M.")
        pupil["responsables"] = [responsables[0], replacement]
    return pupil


def _adult(rng: random.Random, number: int, rank: int, nom: str, civilite: str):
    prenom = rng.choice(PRENOMS_ADULTES)
    email = f"r{number}.{rank}@example.org" if rng.random() < 0.9 else ""
    return {
        "id": f"{number * 4 + rank}",
        "civilite": civilite,
        "nom": nom,
        "prenom": prenom,
        "email": email,
        "mobile": f"06 {number % 100:02d} {number // 100 % 100:02d} "
        f"{number // 10000 % 100:02d} {rank:02d}",
    }


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


def _classe_1d(pupil: dict) -> str:
    return f"{NIVEAUX_1D[pupil['division'] % 5]} classe {pupil['division']}"


def _write_onde(folder: Path, family: list[dict]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    eleves = [ONDE_ELEVES_HEADER]
    responsables = [ONDE_RESPONSABLES_HEADER]
    for pupil in family:
        classe = _classe_1d(pupil)
        eleves.append(
            f"{pupil['nom']};;{pupil['prenom']};{pupil['naissance']};F;{pupil['ine']};"
            "1 rue Haute;99110;BELLETERRE;FRANCE;;;;;CYCLE II;"
            f"{classe.split()[0]};{classe};4{pupil['division']:04d};Oui;Non;Non;"
        )
        child = f";{pupil['nom']};{pupil['prenom']} {pupil['number']};{classe}"
        for adult in pupil["responsables"]:
            responsables.append(
                f"{adult['civilite']};;{adult['nom']};{adult['prenom']};1 rue Haute;"
                f"99110;BELLETERRE;FRANCE;{adult['email']};;;{adult['mobile']};"
                + child
                + ";;;;;;;;"
            )
    # Pupils of one école share names, so each first name carries the pupil's
    # number to keep the (name, first name, class) match of ONDE unique.
    eleves = [
        line if index == 0 else _number_prenom(line, family[index - 1])
        for index, line in enumerate(eleves)
    ]
    _write_lines(folder / "eleves.csv", eleves, "cp1252")
    _write_lines(folder / "responsables.csv", responsables, "cp1252")


def _number_prenom(line: str, pupil: dict) -> str:
    fields = line.split(";")
    fields[2] = f"{pupil['prenom']} {pupil['number']}"
    return ";".join(fields)


def _write_siecle(folder: Path, uai: str, family: list[dict]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    parametres = (
        f"  <PARAMETRES>\n    <UAJ>{uai}</UAJ>\n"
        "    <ANNEE_SCOLAIRE>2025</ANNEE_SCOLAIRE>\n"
        "    <DATE_EXPORT>12/01/2026</DATE_EXPORT>\n  </PARAMETRES>\n"
    )
    eleves = [
        '<?xml version="1.0" encoding="ISO-8859-15"?>\n<BEE_ELEVES VERSION="2.1">\n',
        parametres,
        "  <DONNEES>\n    <ELEVES>\n",
    ]
    for pupil in family:
        eleves.append(
            f'      <ELEVE ELEVE_ID="{pupil["number"] + 1}">\n'
            f"        <ID_NATIONAL>{pupil['ine']}</ID_NATIONAL>\n"
            f"        <NOM_DE_FAMILLE>{_xml(pupil['nom'])}</NOM_DE_FAMILLE>\n"
            "        <NOM_USAGE/>\n"
            f"        <PRENOM>{pupil['prenom']}</PRENOM>\n"
            f"        <DATE_NAISS>{pupil['naissance']}</DATE_NAISS>\n"
            "        <CODE_REGIME>2</CODE_REGIME>\n"
            "        <DATE_SORTIE/>\n"
            "      </ELEVE>\n"
        )
    eleves.append("    </ELEVES>\n    <STRUCTURES>\n")
    for pupil in family:
        niveau = NIVEAUX_2D[pupil["division"] % 4]
        eleves.append(
            f'      <STRUCTURES_ELEVE ELEVE_ID="{pupil["number"] + 1}">\n'
            "        <STRUCTURE>\n"
            f"          <CODE_STRUCTURE>{niveau}E{pupil['division']}</CODE_STRUCTURE>\n"
            "          <TYPE_STRUCTURE>D</TYPE_STRUCTURE>\n"
            "        </STRUCTURE>\n"
            "      </STRUCTURES_ELEVE>\n"
        )
    eleves.append("    </STRUCTURES>\n  </DONNEES>\n</BEE_ELEVES>\n")

    responsables = [
        '<?xml version="1.0" encoding="ISO-8859-15"?>\n'
        '<BEE_RESPONSABLES VERSION="1.7">\n',
        parametres,
        "  <DONNEES>\n    <PERSONNES>\n",
    ]
    links = []
    for pupil in family:
        # A contact who is no legal representative, as real exports list.
        contact = {
            "id": f"{pupil['number'] * 4 + 4}",
            "civilite": "MME",
            "nom": pupil["nom"],
            "prenom": "Nounou",
            "email": "",
            "mobile": "",
        }
        for adult, niveau in [(a, "1") for a in pupil["responsables"]] + [
            (contact, "3")
        ]:
            responsables.append(
                f'      <PERSONNE PERSONNE_ID="{adult["id"]}">\n'
                f"        <NOM_DE_FAMILLE>{_xml(adult['nom'])}</NOM_DE_FAMILLE>\n"
                "        <NOM_USAGE/>\n"
                f"        <PRENOM>{adult['prenom']}</PRENOM>\n"
                f"        <LC_CIVILITE>{adult['civilite']}</LC_CIVILITE>\n"
                f"        <TEL_PORTABLE>{adult['mobile']}</TEL_PORTABLE>\n"
                f"        <MEL>{adult['email']}</MEL>\n"
                "      </PERSONNE>\n"
            )
            code = "10" if adult["civilite"] == "MME" else "20"
            code = code if niveau == "1" else "90"
            links.append(
                "      <RESPONSABLE_ELEVE>\n"
                f"        <ELEVE_ID>{pupil['number'] + 1}</ELEVE_ID>\n"
                f"        <PERSONNE_ID>{adult['id']}</PERSONNE_ID>\n"
                f"        <NIVEAU_RESPONSABILITE>{niveau}</NIVEAU_RESPONSABILITE>\n"
                f"        <CODE_PARENTE>{code}</CODE_PARENTE>\n"
                "      </RESPONSABLE_ELEVE>\n"
            )
    responsables.append("    </PERSONNES>\n    <RESPONSABLES>\n")
    responsables.extend(links)
    responsables.append("    </RESPONSABLES>\n  </DONNEES>\n</BEE_RESPONSABLES>\n")
    _write_text(folder / "ElevesSansAdresses.xml", "".join(eleves), "iso-8859-15")
    _write_text(
        folder / "ResponsablesAvecAdresses.xml", "".join(responsables), "iso-8859-15"
    )


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;")


def _write_lines(path: Path, lines: list[str], encoding: str) -> None:
    _write_text(path, "\r\n".join(lines) + "\r\n", encoding)


def _write_text(path: Path, text: str, encoding: str) -> None:
    path.write_bytes(text.encode(encoding))


if __name__ == "__main__":
    main()
