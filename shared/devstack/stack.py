"""PostgreSQL, Kafka and the mail catcher together, and the services wired to them.

Each service reads its settings from environment variables with its own prefix
(LINKS_, IDENTITY_, ...). SERVICES lists how to run each one and which variables it
gets beyond the common ones; adding a service is one entry there.
"""

import logging
import os
import secrets
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from shared.contracts import Topic
from shared.devstack.kafka import KafkaBroker
from shared.devstack.mailcatcher import MailCatcher
from shared.devstack.paths import CACHE_DIR, REPO_ROOT
from shared.devstack.ports import LOOPBACK, free_port
from shared.devstack.postgres import PostgresCluster
from shared.devstack.processes import ManagedProcess, run_command

logger = logging.getLogger(__name__)

# The topics of the event contracts, created when the broker starts, with the
# partition count of ``deploy/``: six split evenly between two or three
# replicas of a consumer group (see bench/README.md, "Six partitions").
TOPIC_PARTITIONS = 6


@dataclass(frozen=True)
class ServiceSpec:
    """How to run one service and which environment variables it gets.

    Every service gets <PREFIX>_DATABASE_URL, <PREFIX>_KAFKA_BOOTSTRAP_SERVERS and
    <PREFIX>_ENVIRONMENT. A service with `http` set is a daemon: it also gets
    <PREFIX>_HTTP_HOST and <PREFIX>_HTTP_PORT, and is ready once GET `health_path`
    returns 200. Without `http` it is a command that runs to completion.
    """

    name: str
    env_prefix: str
    argv: tuple[str, ...]
    http: bool = True
    health_path: str = "/healthz"
    extra_env: Callable[["LocalStack"], dict[str, str]] = field(
        default=lambda stack: {}
    )


def _links_env(stack: "LocalStack") -> dict[str, str]:
    return {"LINKS_INTERNAL_TOKEN": stack.secrets.internal_token}


def _identity_env(stack: "LocalStack") -> dict[str, str]:
    return {
        "IDENTITY_LINKS_URL": stack.service_url("links"),
        "IDENTITY_LINKS_TOKEN": stack.secrets.internal_token,
        "IDENTITY_SECRET_KEY": stack.secrets.identity_secret_key,
        "IDENTITY_NOTICE_SECRET": stack.secrets.identity_notice_secret,
        # The local stack serves plain HTTP, where browsers drop Secure cookies.
        "IDENTITY_COOKIE_SECURE": "false",
    }


def _notifier_env(stack: "LocalStack") -> dict[str, str]:
    return {
        "NOTIFIER_SMTP_HOST": stack.mail.smtp_host,
        "NOTIFIER_SMTP_PORT": str(stack.mail.smtp_port),
    }


SERVICES: dict[str, ServiceSpec] = {
    spec.name: spec
    for spec in (
        ServiceSpec("links", "LINKS", ("-m", "services.links"), extra_env=_links_env),
        ServiceSpec(
            "identity", "IDENTITY", ("-m", "services.identity"), extra_env=_identity_env
        ),
        ServiceSpec(
            "notifier", "NOTIFIER", ("-m", "services.notifier"), extra_env=_notifier_env
        ),
        ServiceSpec("importer", "IMPORTER", ("-m", "services.importer"), http=False),
    )
}


@dataclass(frozen=True)
class StackSecrets:
    """Secrets shared between services, random for each stack."""

    internal_token: str
    identity_secret_key: str
    identity_notice_secret: str

    @classmethod
    def generate(cls) -> "StackSecrets":
        return cls(
            internal_token=secrets.token_urlsafe(32),
            identity_secret_key=secrets.token_urlsafe(32),
            identity_notice_secret=secrets.token_urlsafe(32),
        )


class LocalStack:
    """PostgreSQL, Kafka and a mail catcher for one run, with the services on top.

    `environment` becomes <PREFIX>_ENVIRONMENT: "development" for `make run`, "test"
    for test sessions. `services` replaces the SERVICES table, which tests use to
    run stand-in commands.
    """

    def __init__(
        self,
        workdir: Path,
        *,
        cache_dir: Path = CACHE_DIR,
        environment: str = "test",
        mail_http: bool = False,
        services: Mapping[str, ServiceSpec] = SERVICES,
    ) -> None:
        self.workdir = Path(workdir)
        self.environment = environment
        self.services = dict(services)
        self.secrets = StackSecrets.generate()
        self.postgres = PostgresCluster(self.workdir / "postgres")
        self.kafka = KafkaBroker(self.workdir / "kafka", cache_dir)
        self.mail = MailCatcher(http=mail_http)
        self.processes: dict[str, ManagedProcess] = {}
        self._http_ports: dict[str, int] = {}

    def __enter__(self) -> "LocalStack":
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def database_url(self) -> str:
        return self.postgres.dsn()

    @property
    def kafka_bootstrap_servers(self) -> str:
        return self.kafka.bootstrap_servers

    @property
    def log_dir(self) -> Path:
        return self.workdir / "logs"

    def start(self) -> "LocalStack":
        """Start the mail catcher, PostgreSQL and Kafka; stop them all if one fails."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        try:
            self.mail.start()
            self.postgres.start()
            self.kafka.start()
            self.kafka.create_topics(list(Topic), partitions=TOPIC_PARTITIONS)
        except BaseException:
            self.stop()
            raise
        logger.info(
            "local_stack_started database_url=%s kafka=%s smtp_port=%d",
            self.database_url,
            self.kafka_bootstrap_servers,
            self.mail.smtp_port,
        )
        return self

    def stop(self) -> None:
        """Stop the services, newest first, then Kafka, PostgreSQL, the mail catcher."""
        steps = [process.stop for process in reversed(self.processes.values())]
        steps += [self.kafka.stop, self.postgres.stop, self.mail.stop]
        self.processes.clear()
        for stop in steps:
            try:
                stop()
            except Exception:
                logger.exception("local_stack_stop_failed step=%r", stop)

    @staticmethod
    def instance_name(name: str, instance: int = 1) -> str:
        """Return the name of one instance of a service: the service name for the
        first, "links-2" for the second instance of links."""
        if instance < 1:
            raise ValueError(f"invalid instance {instance!r}: expected 1 or more")
        return name if instance == 1 else f"{name}-{instance}"

    def http_port(self, name: str, instance: int = 1) -> int:
        """Return the HTTP port of a service instance, choosing a free one on first
        request."""
        key = self.instance_name(name, instance)
        if key not in self._http_ports:
            self._http_ports[key] = free_port()
        return self._http_ports[key]

    def service_url(self, name: str, instance: int = 1) -> str:
        """Return the base URL of a service instance, without a trailing slash."""
        return f"http://{LOOPBACK}:{self.http_port(name, instance)}"

    def log_path(self, name: str) -> Path:
        """Return the file that receives the stdout and stderr of a service, a
        service instance ("links-2") or a command."""
        return self.log_dir / f"{name}.log"

    def log_paths(self) -> dict[str, Path]:
        """Return the log files written so far, by component, service or command."""
        paths = {"postgres": self.postgres.log_path, "kafka": self.kafka.log_path}
        paths.update({path.stem: path for path in sorted(self.log_dir.glob("*.log"))})
        return paths

    def service_env(self, name: str, instance: int = 1) -> dict[str, str]:
        """Return the environment variables that configure service `name`; instances
        differ only by their HTTP port."""
        spec = self._spec(name)
        prefix = spec.env_prefix
        env = {
            f"{prefix}_DATABASE_URL": self.database_url,
            f"{prefix}_KAFKA_BOOTSTRAP_SERVERS": self.kafka_bootstrap_servers,
            f"{prefix}_ENVIRONMENT": self.environment,
        }
        if spec.http:
            env[f"{prefix}_HTTP_HOST"] = LOOPBACK
            env[f"{prefix}_HTTP_PORT"] = str(self.http_port(name, instance))
        env.update(spec.extra_env(self))
        return env

    def process_env(self, name: str, instance: int = 1) -> dict[str, str]:
        """Return the full environment of a service process: ours plus its variables."""
        env = dict(os.environ)
        env.update(self.service_env(name, instance))
        env["PYTHONUNBUFFERED"] = "1"
        # Every address of the stack is on loopback; a proxy set in the
        # developer's environment must not receive that traffic.
        no_proxy = "127.0.0.1,localhost,::1"
        for variable in ("NO_PROXY", "no_proxy"):
            existing = env.get(variable)
            env[variable] = f"{existing},{no_proxy}" if existing else no_proxy
        return env

    def start_service(
        self, name: str, timeout: float = 60.0, *, instance: int = 1
    ) -> ManagedProcess:
        """Start daemon `name` and wait until its health URL returns 200.

        `instance` 2 and above start another process of the same service, with its
        own HTTP port and log file ("links-2.log") and the same database and
        consumer groups. Returns the running process when that instance was
        already started. Raises StartupError with the tail of the service's log
        when it exits or does not respond within `timeout` seconds.
        """
        key = self.instance_name(name, instance)
        running = self.processes.get(key)
        if running is not None and running.is_running():
            return running
        spec = self._spec(name)
        if not spec.http:
            raise ValueError(f"service {name!r} is a command; use run_command()")

        process = ManagedProcess(
            key,
            [sys.executable, *spec.argv],
            log_path=self.log_path(key),
            env=self.process_env(name, instance),
            cwd=REPO_ROOT,
        ).start()
        self.processes[key] = process
        process.wait_for_http(
            self.service_url(name, instance) + spec.health_path, timeout
        )
        return process

    def stop_service(self, name: str, *, instance: int = 1) -> int | None:
        """Stop one instance of a service (SIGTERM, then SIGKILL after its stop
        timeout) and return its exit status, or None if it was not started."""
        process = self.processes.pop(self.instance_name(name, instance), None)
        if process is None:
            return None
        return process.stop()

    def start_services(self, *names: str, timeout: float = 60.0) -> None:
        """Start several daemons in the given order, each waiting for the previous."""
        for name in names:
            self.start_service(name, timeout)

    def run_command(
        self,
        name: str,
        *args: str,
        log_name: str | None = None,
        timeout: float = 600.0,
    ) -> str:
        """Run `python <service argv> <args>` with the service's environment.

        Returns its standard output; standard error goes to the log file
        `log_name` (default: the service name with "-command"). Raises
        CommandFailedError with the log tail when the command fails.
        """
        spec = self._spec(name)
        return run_command(
            f"{name} {' '.join(args)}".strip(),
            [sys.executable, *spec.argv, *args],
            log_path=self.log_path(log_name or f"{name}-command"),
            env=self.process_env(name),
            cwd=REPO_ROOT,
            timeout=timeout,
        )

    def run_importer(
        self, academie: str, folders: Sequence[Path], timeout: float = 600.0
    ) -> str:
        """Import the export folders of one académie; returns the importer's output."""
        return self.run_command(
            "importer",
            "import",
            "--academie",
            academie,
            *(str(folder) for folder in folders),
            log_name="importer",
            timeout=timeout,
        )

    def _spec(self, name: str) -> ServiceSpec:
        try:
            return self.services[name]
        except KeyError:
            raise ValueError(
                f"unknown service {name!r}; known services: {sorted(self.services)}"
            ) from None
