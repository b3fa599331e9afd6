"""A throwaway PostgreSQL cluster on loopback for local runs and tests."""

import logging
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

from shared.devstack.errors import DevstackError, StartupError, ToolNotFoundError
from shared.devstack.ports import LOOPBACK, free_port
from shared.devstack.processes import read_log_tail, track, untrack

logger = logging.getLogger(__name__)

DATABASE = "educonnect"
SUPERUSER = "postgres"
# initdb and postgres refuse to run as root; as root they run as this system
# account, which Debian's postgresql package creates.
SERVER_ACCOUNT = "postgres"
DEBIAN_POSTGRES_ROOT = Path("/usr/lib/postgresql")
STEP_TIMEOUT_SECONDS = 120


def find_postgres_bin_dir() -> Path:
    """Return the folder holding initdb, pg_ctl and createdb.

    initdb from PATH wins; otherwise the newest /usr/lib/postgresql/<major>/bin,
    where Debian installs them without putting them on PATH.
    """
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).resolve().parent

    candidates = [
        path.parent
        for path in DEBIAN_POSTGRES_ROOT.glob("*/bin/initdb")
        if path.parent.parent.name.isdigit()
    ]
    if not candidates:
        raise ToolNotFoundError(
            "initdb not found in PATH nor in /usr/lib/postgresql/*/bin; install the "
            "Debian package postgresql (`make install` does it)"
        )
    return max(candidates, key=lambda bin_dir: int(bin_dir.parent.name))


class PostgresCluster:
    """A PostgreSQL server with trust authentication, listening on 127.0.0.1 only.

    Durability is switched off (fsync, synchronous_commit, full_page_writes) because
    the data is thrown away at stop. Checkpoints come every 4 GB of WAL instead of
    1 GB: with the default, a 1,000,000-pupil import checkpointed every 25 s. The
    data directory and socket are in a private temporary folder rather than in
    `workdir`, so that the server account can reach them even when the caller's
    folders are closed to it. `workdir` gets the log.
    """

    def __init__(self, workdir: Path, *, database: str = DATABASE) -> None:
        self.workdir = Path(workdir)
        self.database = database
        self.log_path = self.workdir / "postgres.log"
        self.port = 0
        self._bin_dir: Path | None = None
        self._runtime_dir: Path | None = None

    def __repr__(self) -> str:
        return f"PostgresCluster(port={self.port}, workdir={str(self.workdir)!r})"

    def __enter__(self) -> "PostgresCluster":
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def dsn(self, dbname: str | None = None) -> str:
        """Return the connection URL of `dbname`, by default of `educonnect`."""
        return (
            f"postgresql://{SUPERUSER}@{LOOPBACK}:{self.port}/{dbname or self.database}"
        )

    def start(self) -> "PostgresCluster":
        """Create the cluster, start the server and create the database."""
        if self._runtime_dir is not None:
            raise RuntimeError("PostgreSQL cluster was already started")

        self._bin_dir = find_postgres_bin_dir()
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._runtime_dir = Path(tempfile.mkdtemp(prefix="educonnect-pg-"))
        if os.geteuid() == 0:
            account = _server_account()
            os.chown(self._runtime_dir, account.pw_uid, account.pw_gid)
        track(self)

        try:
            self._create_and_start()
        except BaseException:
            self.stop()
            raise
        logger.info("postgres_started port=%d log=%s", self.port, self.log_path)
        return self

    def _create_and_start(self) -> None:
        data_dir = self._data_dir()
        self._run_as_server(
            "initdb",
            [
                "initdb",
                f"--pgdata={data_dir}",
                f"--username={SUPERUSER}",
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ],
        )

        # pg_hba.conf from initdb only lists local sockets, 127.0.0.1/32 and ::1/128,
        # and -h keeps the server off every other interface, so trust stays local.
        self.port = free_port()
        # Durability is off: the clusters are throwaway. WAL checkpoints every
        # 4 GB and 2 GB of shared buffers are sized for the benchmark's
        # 1,000,000-pupil académie, whose tables and indexes outgrow the
        # 128 MB default many times. Shared memory is only taken as it is used.
        server_options = (
            f"-h {LOOPBACK} -p {self.port} -k {self._runtime_dir} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
            "-c max_wal_size=4GB -c shared_buffers=2GB"
        )
        # Without -l the server inherits pg_ctl's stdout, which is our log file.
        self._run_as_server(
            "pg_ctl start",
            [
                "pg_ctl",
                "start",
                "--wait",
                "--timeout=60",
                f"--pgdata={data_dir}",
                "-o",
                server_options,
            ],
        )

        self._run(
            "createdb",
            [
                str(self._bin_dir / "createdb"),
                f"--host={LOOPBACK}",
                f"--port={self.port}",
                f"--username={SUPERUSER}",
                self.database,
            ],
        )

    def stop(self) -> None:
        """Stop the server and delete its data; safe to call more than once."""
        untrack(self)
        if self._runtime_dir is None:
            return

        if (self._data_dir() / "postmaster.pid").exists():
            self._stop_server()
        shutil.rmtree(self._runtime_dir, ignore_errors=True)
        self._runtime_dir = None
        logger.info("postgres_stopped port=%d", self.port)

    def _stop_server(self) -> None:
        # "fast" rolls back open sessions; "immediate" is the fallback when a
        # session does not let go within the timeout.
        for mode in ("fast", "immediate"):
            try:
                self._run_as_server(
                    f"pg_ctl stop -m {mode}",
                    [
                        "pg_ctl",
                        "stop",
                        "--wait",
                        "--timeout=30",
                        f"--mode={mode}",
                        f"--pgdata={self._data_dir()}",
                    ],
                )
                return
            except StartupError:
                logger.warning(
                    "postgres_stop_failed mode=%s log=%s", mode, self.log_path
                )
        logger.error(
            "postgres_left_running data_dir=%s reason=pg_ctl stop failed in fast and "
            "immediate mode",
            self._data_dir(),
        )

    def _data_dir(self) -> Path:
        assert self._runtime_dir is not None
        return self._runtime_dir / "data"

    def _run_as_server(self, step: str, argv: list[str]) -> None:
        assert self._bin_dir is not None
        command = [str(self._bin_dir / argv[0]), *argv[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", SERVER_ACCOUNT, "--", *command]
        self._run(step, command)

    def _run(self, step: str, command: list[str]) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            try:
                completed = subprocess.run(
                    command,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=self._runtime_dir,
                    timeout=STEP_TIMEOUT_SECONDS,
                    check=False,
                )
                failure = f"exited with status {completed.returncode}"
            except subprocess.TimeoutExpired:
                completed = None
                failure = f"timed out after {STEP_TIMEOUT_SECONDS} s"

        if completed is None or completed.returncode != 0:
            raise StartupError(
                f"PostgreSQL step {step!r} {failure}; last lines of "
                f"{self.log_path}:\n{read_log_tail(self.log_path)}"
            )


def _server_account() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(SERVER_ACCOUNT)
    except KeyError:
        raise DevstackError(
            f"initdb cannot run as root, and the {SERVER_ACCOUNT!r} system account "
            "to run it as was not found; install the Debian package postgresql, "
            "which creates it, or run as a non-root user"
        ) from None
