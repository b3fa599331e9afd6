"""A single-node Kafka broker (KRaft, no ZooKeeper) on loopback, run from Maven jars.

There is no Docker engine on our machines, so the broker runs straight from the jars
that deploy/local/kafka/pom.xml lists, fetched once into the repository's `.cache/`.
`python -m shared.devstack.kafka fetch` downloads them ahead of time.
"""

import argparse
import asyncio
import base64
import fcntl
import hashlib
import logging
import shutil
import subprocess
import time
import uuid
from collections.abc import Coroutine, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

from shared.devstack.errors import DevstackError, StartupError, ToolNotFoundError
from shared.devstack.paths import CACHE_DIR, REPO_ROOT
from shared.devstack.ports import LOOPBACK, free_port
from shared.devstack.processes import POLL_INTERVAL_SECONDS, ManagedProcess, run_command

logger = logging.getLogger(__name__)

KAFKA_VERSION = "4.1.1"
POM_PATH = REPO_ROOT / "deploy" / "local" / "kafka" / "pom.xml"

# The broker logs through log4j 2 (see the pom); everything goes to stdout, which
# ManagedProcess appends to the log file together with any JVM error.
LOG4J2_PROPERTIES = """\
rootLogger.level = INFO
rootLogger.appenderRef.stdout.ref = STDOUT
appender.stdout.type = Console
appender.stdout.name = STDOUT
appender.stdout.layout.type = PatternLayout
appender.stdout.layout.pattern = [%d] %p %m (%c)%n
"""


def ensure_kafka_jars(cache_dir: Path = CACHE_DIR) -> Path:
    """Return the folder of Kafka jars, downloading them with Maven when missing.

    A marker file holding the pom's SHA-256 is written after a complete download,
    so an interrupted download or an edited pom leads to a new one. A file lock
    keeps two concurrent runs from downloading into the same folder.
    """
    kafka_home = cache_dir / f"kafka-{KAFKA_VERSION}"
    lib_dir = kafka_home / "lib"
    marker = kafka_home / ".complete"
    pom_hash = hashlib.sha256(POM_PATH.read_bytes()).hexdigest()
    if _read_marker(marker) == pom_hash:
        return lib_dir

    kafka_home.mkdir(parents=True, exist_ok=True)
    with (kafka_home / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _read_marker(marker) == pom_hash:
            return lib_dir

        mvn = shutil.which("mvn")
        if mvn is None:
            raise ToolNotFoundError(
                "mvn not found in PATH; it is needed once to download the Kafka "
                "jars. Install the Debian package maven (`make install` does it)"
            )
        marker.unlink(missing_ok=True)
        shutil.rmtree(lib_dir, ignore_errors=True)

        logger.info("kafka_jars_download_started lib_dir=%s", lib_dir)
        started = time.monotonic()
        completed = subprocess.run(
            [
                mvn,
                "-q",
                "-B",
                "-f",
                str(POM_PATH),
                "dependency:copy-dependencies",
                f"-DoutputDirectory={lib_dir}",
                f"-Dmaven.repo.local={cache_dir / 'm2'}",
            ],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            check=False,
        )
        if completed.returncode != 0:
            output = (completed.stdout + completed.stderr)[-4000:]
            raise DevstackError(
                f"mvn could not download the Kafka jars listed in {POM_PATH} "
                f"(exit status {completed.returncode}):\n{output}"
            )
        marker.write_text(pom_hash)
        logger.info(
            "kafka_jars_downloaded lib_dir=%s seconds=%.1f",
            lib_dir,
            time.monotonic() - started,
        )
    return lib_dir


def _read_marker(marker: Path) -> str | None:
    try:
        return marker.read_text().strip()
    except FileNotFoundError:
        return None


def random_cluster_id() -> str:
    """Return a cluster id in Kafka's format: 16 random bytes, base64url, no padding."""
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()


class KafkaBroker:
    """One KRaft node acting as broker and controller, on two 127.0.0.1 ports.

    Replication factors are 1, topics are created on first use with 3 partitions,
    and consumer groups rebalance without the usual initial delay.
    """

    def __init__(
        self,
        workdir: Path,
        cache_dir: Path = CACHE_DIR,
        *,
        max_heap: str = "512m",
        start_timeout: float = 90.0,
    ) -> None:
        self.workdir = Path(workdir)
        self.cache_dir = Path(cache_dir)
        self.max_heap = max_heap
        self.start_timeout = start_timeout
        self.port = 0
        self.controller_port = 0
        self.log_path = self.workdir / "kafka.log"
        self._process: ManagedProcess | None = None

    def __repr__(self) -> str:
        return f"KafkaBroker(bootstrap_servers={self.bootstrap_servers!r})"

    def __enter__(self) -> "KafkaBroker":
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def _data_dir(self) -> Path:
        return self.workdir / "data"

    @property
    def bootstrap_servers(self) -> str:
        return f"{LOOPBACK}:{self.port}"

    def start(self) -> "KafkaBroker":
        """Format a fresh log directory, then start the broker and wait for metadata."""
        if self._process is not None:
            raise RuntimeError("Kafka broker was already started")
        java = shutil.which("java")
        if java is None:
            raise ToolNotFoundError(
                "java not found in PATH; install the Debian package "
                "openjdk-17-jre-headless (`make install` does it)"
            )
        lib_dir = ensure_kafka_jars(self.cache_dir)

        self.workdir.mkdir(parents=True, exist_ok=True)
        # A broker started before in the same folder left its storage. The
        # format below rejects it, because its cluster id differs.
        shutil.rmtree(self._data_dir, ignore_errors=True)
        self.port = free_port()
        self.controller_port = free_port()
        while self.controller_port == self.port:
            self.controller_port = free_port()
        config_path = self._write_config()
        jvm = [
            java,
            "-Xms64m",
            f"-Xmx{self.max_heap}",
            "-XX:+UseSerialGC",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={self.workdir / 'log4j2.properties'}",
            "-cp",
            f"{lib_dir}/*",
        ]

        run_command(
            "kafka storage format",
            [
                *jvm,
                "kafka.tools.StorageTool",
                "format",
                # One argument with "=": an id may start with "-", which the
                # tool's parser would otherwise take for an option.
                f"--cluster-id={random_cluster_id()}",
                "-c",
                str(config_path),
            ],
            log_path=self.log_path,
            cwd=self.workdir,
            timeout=120,
        )
        self._process = ManagedProcess(
            "kafka",
            [*jvm, "kafka.Kafka", str(config_path)],
            log_path=self.log_path,
            cwd=self.workdir,
            stop_timeout=30,
        ).start()

        try:
            deadline = time.monotonic() + self.start_timeout
            self._process.wait_for_port(self.port, timeout=self.start_timeout)
            self._wait_for_metadata(deadline)
        except BaseException:
            self.stop()
            raise
        logger.info("kafka_started bootstrap_servers=%s", self.bootstrap_servers)
        return self

    def stop(self) -> None:
        """Stop the broker: SIGTERM for a controlled shutdown, SIGKILL after 30 s."""
        if self._process is None:
            return
        self._process.stop()
        self._process = None
        logger.info("kafka_stopped bootstrap_servers=%s", self.bootstrap_servers)

    def log_tail(self) -> str:
        return self._process.log_tail() if self._process else ""

    def create_topics(self, names: Sequence[str], partitions: int = 3) -> list[str]:
        """Create the topics that do not exist yet, with `partitions` partitions
        each, and return the names created.

        The broker would create a topic on first use too, but a consumer that
        subscribes earlier logs "Topic ... not found in cluster metadata" at
        ERROR until then. Topics created first also give the consumers of one
        group partitions to share from the start.
        """
        created = _run_in_new_event_loop(
            _create_topics(self.bootstrap_servers, list(names), partitions)
        )
        logger.info(
            "kafka_topics_created topics=%s partitions=%d",
            ",".join(str(name) for name in created),
            partitions,
        )
        return created

    def _write_config(self) -> Path:
        controller = f"{LOOPBACK}:{self.controller_port}"
        settings = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@{controller}",
            "listeners": f"PLAINTEXT://{self.bootstrap_servers},CONTROLLER://{controller}",
            "advertised.listeners": f"PLAINTEXT://{self.bootstrap_servers}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": (
                "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"
            ),
            "log.dirs": str(self._data_dir),
            "num.partitions": "3",
            "auto.create.topics.enable": "true",
            "group.initial.rebalance.delay.ms": "0",
            "offsets.topic.replication.factor": "1",
            # One partition instead of 50 makes the first consumer group join fast.
            "offsets.topic.num.partitions": "1",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "transaction.state.log.num.partitions": "1",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
        }
        config_path = self.workdir / "server.properties"
        config_path.write_text(
            "".join(f"{key}={value}\n" for key, value in settings.items())
        )
        (self.workdir / "log4j2.properties").write_text(LOG4J2_PROPERTIES)
        return config_path

    def _wait_for_metadata(self, deadline: float) -> None:
        # The port opens before the broker has joined its own controller quorum;
        # a metadata request that lists the broker shows it can serve clients.
        assert self._process is not None
        last_error: Exception | None = None
        while True:
            try:
                if _run_in_new_event_loop(_list_broker_ids(self.bootstrap_servers)):
                    return
            except (TimeoutError, KafkaError, OSError) as exc:
                last_error = exc

            if not self._process.is_running():
                raise StartupError(
                    f"Kafka exited with status {self._process.returncode} during "
                    f"start; last lines of {self.log_path}:\n{self.log_tail()}"
                )
            if time.monotonic() >= deadline:
                raise StartupError(
                    f"Kafka on {self.bootstrap_servers} served no metadata within "
                    f"{self.start_timeout:.0f} s (last error: {last_error!r}); "
                    f"last lines of {self.log_path}:\n{self.log_tail()}"
                )
            time.sleep(POLL_INTERVAL_SECONDS)


async def _list_broker_ids(bootstrap_servers: str) -> list[int]:
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap_servers, request_timeout_ms=5000
    )
    await admin.start()
    try:
        cluster = await admin.describe_cluster()
    finally:
        await admin.close()
    return [broker["node_id"] for broker in cluster["brokers"]]


async def _create_topics(
    bootstrap_servers: str, names: list[str], partitions: int
) -> list[str]:
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap_servers, request_timeout_ms=10000
    )
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [name for name in names if name not in existing]
        if missing:
            response = await admin.create_topics(
                [
                    NewTopic(name, num_partitions=partitions, replication_factor=1)
                    for name in missing
                ]
            )
            _raise_for_topic_errors(response.topic_errors)
    finally:
        await admin.close()
    return missing


def _raise_for_topic_errors(topic_errors: Sequence[tuple]) -> None:
    # Each entry is (topic, error_code, ...); another client creating the
    # topic since list_topics is not an error.
    for topic, error_code, *rest in topic_errors:
        if error_code in (0, TopicAlreadyExistsError.errno):
            continue
        message = rest[0] if rest else ""
        raise DevstackError(
            f"Kafka could not create topic {topic!r}: error code {error_code} "
            f"{message}".rstrip()
        )


def _run_in_new_event_loop(coroutine: Coroutine[Any, Any, Any]) -> Any:
    # A thread of its own lets start() work from async code too, where the
    # caller's thread already runs an event loop and asyncio.run() would fail.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m shared.devstack.kafka",
        description="Manage the Kafka jars of the local stack.",
    )
    parser.add_argument("command", choices=["fetch"], help="fetch: download the jars")
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=CACHE_DIR,
        help="folder for the jars and the Maven repository (default: %(default)s)",
    )
    arguments = parser.parse_args()

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    print(ensure_kafka_jars(arguments.cache_dir))


if __name__ == "__main__":
    main()
