"""Bring the whole system up on the sample exports until Ctrl-C; `make run` calls this.

It starts PostgreSQL, Kafka and the mail catcher with its web page, then links,
notifier and identity. It imports the sample SIECLE and ONDE exports of one
académie and prints the URLs and a few demo accounts. The work folder under
.cache/run/ is deleted at the end unless --keep-workdir is given.
"""

import argparse
import logging
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

from shared.devstack.errors import DevstackError
from shared.devstack.paths import CACHE_DIR, REPO_ROOT
from shared.devstack.stack import LocalStack

logger = logging.getLogger(__name__)

DEFAULT_SAMPLES_DIR = REPO_ROOT.parent / "shared" / "samples"
RUN_ROOT = CACHE_DIR / "run"
DAEMONS = ("links", "notifier", "identity")


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m shared.devstack.run",
        description="Run every service locally on the sample exports until Ctrl-C.",
    )
    parser.add_argument(
        "--samples",
        type=Path,
        default=DEFAULT_SAMPLES_DIR,
        help="folder containing siecle/<week>/ and onde/<week>/ (default: %(default)s)",
    )
    parser.add_argument(
        "--week", default="week1", help="export week to import (default: %(default)s)"
    )
    parser.add_argument(
        "--academie",
        default="versailles",
        help="code of the académie the exports belong to (default: %(default)s)",
    )
    parser.add_argument(
        "--notices",
        type=int,
        default=5,
        help="number of demo accounts to print (default: %(default)s)",
    )
    parser.add_argument(
        "--keep-workdir",
        action="store_true",
        help="keep the work folder with the logs and data after stopping",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    # A shell starts background jobs with SIGINT ignored, and Python keeps it
    # ignored. Restoring the default makes `kill -INT` stop the run like Ctrl-C.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    # Their per-connection INFO lines would drown the stack's own.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    logging.getLogger("aiokafka").setLevel(logging.WARNING)

    export_folders = [
        arguments.samples / "siecle" / arguments.week,
        arguments.samples / "onde" / arguments.week,
    ]
    missing = [folder for folder in export_folders if not folder.is_dir()]
    if missing:
        print(
            f"Sample export folders not found: {', '.join(map(str, missing))}; "
            "pass --samples DIR (and --week) to point at them.",
            file=sys.stderr,
        )
        return 2

    RUN_ROOT.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="run-", dir=RUN_ROOT))
    stack = LocalStack(workdir, environment="development", mail_http=True)
    try:
        stack.start()
        stack.start_services(*DAEMONS)
        stack.run_importer(arguments.academie, export_folders)
        demo_ids = {f"({responsable_id})" for responsable_id, _ in DEMO_RESPONSABLES}
        others = stack.run_command(
            "identity",
            "notices",
            "--limit",
            str(arguments.notices + len(DEMO_RESPONSABLES)),
            log_name="identity-notices",
        ).splitlines()
        others = [line for line in others if line.split()[-1] not in demo_ids]
        notices = demo_notices(stack) + "\n".join(others[: arguments.notices])
        notices += demo_pupil_notice(stack)
        notices += demo_staff_accounts(stack, arguments.academie)
        print_summary(stack, notices)
        watch_services(stack)
    except DevstackError as exc:
        print(f"\nLocal run failed: {exc}", file=sys.stderr)
        if not arguments.keep_workdir:
            print("Run again with --keep-workdir to keep every log.", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nStopping.", flush=True)
        return 0
    finally:
        stack.stop()
        if arguments.keep_workdir:
            print(f"Logs and data kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


# Parents of the week-1 samples whose journeys show the most: each has two
# children, so one can be confirmed and the other refused.
DEMO_RESPONSABLES = (
    ("siecle:7100001", "twins Awa and Fatou N'DIAYE, both born 14/03/2013"),
    ("siecle:7100015", "Jules (13/11/2011) and Margaux (13/08/2014) ROUSSEAU"),
)


# A week-1 sample responsable known with the same mobile to an école (ONDE)
# and a collège (SIECLE): creating an account with it brings both children.
CREATION_DEMO = {
    "page": "/creer-un-compte",
    "nom": "BENALI",
    "prenom": "Nadia",
    "mobile": "06 39 98 00 15",
    "sms_address": "0639980015@sms.educonnect.example",
    "children": "Yanis (11/01/2013, collège 0999102F) and Inès (10/11/2017, "
    "école 0999201N) BENALI",
}


def demo_notices(stack: LocalStack) -> str:
    """Return the notices of the demo parents, each followed by their children,
    or nothing for those the imported exports do not have."""
    lines = []
    for responsable_id, children in DEMO_RESPONSABLES:
        notice = stack.run_command(
            "identity",
            "notices",
            "--responsable",
            responsable_id,
            log_name="identity-notices",
        ).rstrip()
        if notice:
            lines.append(f"{notice}\n    children: {children}")
    if not lines:
        return ""
    return "\n".join(lines) + "\n\nOther accounts:\n"


# A pupil of the week-1 samples, to try the pupils' login and portal; its id
# is its INE.
DEMO_ELEVE = ("9900000011P", "son of the second demo parent")


def demo_pupil_notice(stack: LocalStack) -> str:
    """Return the notice of the demo pupil under its own heading, or nothing
    when the imported exports do not have it. Identity provisions pupils
    from Kafka, so the notice may take a few seconds to appear."""
    eleve_id, description = DEMO_ELEVE
    for _ in range(10):
        notice = stack.run_command(
            "identity", "notices", "--eleve", eleve_id, log_name="identity-notices"
        ).rstrip()
        if notice:
            break
        time.sleep(1)
    else:
        return ""
    return f"\n\nPupil account:\n{notice}\n    {description}"


# Staff of the sample schools, to try *Administration des comptes*: the
# chef d'établissement of a collège and the IEN of a circonscription of
# services/identity/circonscriptions.toml.
DEMO_STAFF = (
    ("directeur", "--uai", "0999101E", "MME", "PRINCIPALE", "Claire"),
    ("ien", "--circonscription", "0999-NORD", "M.", "INSPECTEUR", "Paul"),
)


def demo_staff_accounts(stack: LocalStack, academie: str) -> str:
    """Create the demo staff accounts and return their logins under their own
    heading."""
    lines = []
    for role, scope_option, scope, civilite, nom, prenom in DEMO_STAFF:
        lines.append(
            stack.run_command(
                "identity",
                "personnel",
                "--role",
                role,
                scope_option,
                scope,
                "--civilite",
                civilite,
                "--nom",
                nom,
                "--prenom",
                prenom,
                "--academie",
                academie,
                log_name="identity-personnel",
            ).rstrip()
        )
    return "\n\nStaff accounts (Administration des comptes):\n" + "\n".join(lines)


def print_summary(stack: LocalStack, notices: str) -> None:
    """Print the address of each part of the running system, and the demo accounts."""
    rows = [
        ("Identity (sign-in)", stack.service_url("identity") + "/"),
        ("Links (readiness)", stack.service_url("links") + "/readyz"),
        ("Notifier (readiness)", stack.service_url("notifier") + "/readyz"),
        (
            "Mail catcher",
            f"{stack.mail.http_url}  (SMTP {stack.mail.smtp_host}:"
            f"{stack.mail.smtp_port})",
        ),
        ("PostgreSQL", stack.database_url),
        ("Kafka", stack.kafka_bootstrap_servers),
        ("Logs", str(stack.log_dir)),
    ]
    width = max(len(label) for label, _ in rows)
    print(f"\nEduConnect is running (environment: {stack.environment}).")
    for label, value in rows:
        print(f"  {label.ljust(width)}  {value}")
    print("\nDemo accounts with provisional passwords (identity notices):")
    print(notices.rstrip() or "  (none printed)")
    print("More accounts: python -m shared.devstack.run --notices 50")
    print(
        f"\nAccount without a notice: open {stack.service_url('identity')}"
        f"{CREATION_DEMO['page']}\n"
        f"  nom {CREATION_DEMO['nom']}, prénom {CREATION_DEMO['prenom']}, "
        f"mobile {CREATION_DEMO['mobile']}\n"
        f"  the SMS with the code shows in the mail catcher, to "
        f"{CREATION_DEMO['sms_address']}\n"
        f"  children: {CREATION_DEMO['children']}"
    )
    print("\nPress Ctrl-C to stop.", flush=True)


def watch_services(stack: LocalStack) -> None:
    """Block until Ctrl-C; raise DevstackError if a service exits meanwhile."""
    while True:
        for name, process in stack.processes.items():
            if not process.is_running():
                raise DevstackError(
                    f"{name} exited with status {process.returncode}; last lines of "
                    f"{process.log_path}:\n{process.log_tail()}"
                )
        time.sleep(1)


if __name__ == "__main__":
    sys.exit(main())
