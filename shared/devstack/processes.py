"""Child processes with a log file, readiness checks and cleanup at exit.

Everything started here is tracked, and the tracked resources are stopped, newest
first, when the interpreter exits. SIGTERM and SIGHUP are turned into
KeyboardInterrupt, so a killed `make run` or test session unwinds through the same
`finally` blocks and fixture teardowns as Ctrl-C.
"""

import atexit
import logging
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Protocol

from shared.devstack.errors import CommandFailedError, StartupError
from shared.devstack.ports import LOOPBACK

logger = logging.getLogger(__name__)

LOG_TAIL_LINES = 40
POLL_INTERVAL_SECONDS = 0.2


class Stoppable(Protocol):
    def stop(self) -> None: ...


_tracked: list[Stoppable] = []
_tracked_lock = threading.RLock()
_signal_handlers_installed = False


def track(resource: Stoppable) -> None:
    """Register a started resource so that `stop_all` stops it."""
    with _tracked_lock:
        if resource not in _tracked:
            _tracked.append(resource)
    install_signal_handlers()


def untrack(resource: Stoppable) -> None:
    """Forget a resource that its owner has stopped."""
    with _tracked_lock:
        if resource in _tracked:
            _tracked.remove(resource)


def stop_all() -> None:
    """Stop every tracked resource, newest first, going on when one stop fails."""
    while True:
        with _tracked_lock:
            if not _tracked:
                return
            resource = _tracked.pop()
        try:
            resource.stop()
        except Exception:
            logger.exception("stop_failed resource=%r", resource)


atexit.register(stop_all)


def install_signal_handlers() -> None:
    """Make SIGTERM and SIGHUP raise KeyboardInterrupt, so they clean up like Ctrl-C.

    Handlers that the program already set are kept. Python only accepts handlers
    from the main thread, so a call from another thread does nothing.
    """
    global _signal_handlers_installed
    if _signal_handlers_installed:
        return
    if threading.current_thread() is not threading.main_thread():
        return

    for signum in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(signum) is signal.SIG_DFL:
            signal.signal(signum, _raise_keyboard_interrupt)
    _signal_handlers_installed = True


def _raise_keyboard_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"received {signal.Signals(signum).name}")


def read_log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    """Return the last lines of a log file, or a note saying it does not exist."""
    try:
        with path.open("rb") as log:
            log.seek(0, os.SEEK_END)
            log.seek(max(0, log.tell() - 64 * 1024))
            data = log.read()
    except FileNotFoundError:
        return f"(no log file at {path})"
    text = data.decode("utf-8", errors="replace")
    return "\n".join(text.splitlines()[-lines:])


def http_answers(url: str, expected_status: int = 200) -> bool:
    """Return whether a GET on `url` returns `expected_status`.

    Proxies from the environment are ignored: every URL here is on loopback.
    """
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=2) as response:
            return response.status == expected_status
    except urllib.error.HTTPError as exc:
        return exc.code == expected_status
    except (urllib.error.URLError, OSError):
        return False


def port_accepts(port: int, host: str = LOOPBACK) -> bool:
    """Return whether a TCP connection to host:port succeeds."""
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


class ManagedProcess:
    """A child process that logs to a file and is stopped at interpreter exit.

    The child gets its own session, so a Ctrl-C on the terminal reaches only this
    program, which then stops the children in order. Stop signals go to the
    child's whole process group, so the child's own children stop too.
    """

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        log_path: Path,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        stop_timeout: float = 10.0,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self.env = dict(env) if env is not None else None
        self.cwd = cwd
        self.stop_timeout = stop_timeout
        self._popen: subprocess.Popen[bytes] | None = None

    def __repr__(self) -> str:
        return f"ManagedProcess(name={self.name!r}, pid={self.pid})"

    @property
    def pid(self) -> int | None:
        return self._popen.pid if self._popen else None

    @property
    def returncode(self) -> int | None:
        """Exit status, or None while the process runs or before it started."""
        return self._popen.poll() if self._popen else None

    def is_running(self) -> bool:
        return self._popen is not None and self._popen.poll() is None

    def start(self) -> "ManagedProcess":
        """Start the process with stdout and stderr appended to the log file."""
        if self._popen is not None:
            raise RuntimeError(f"process {self.name!r} was already started")

        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self._popen = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                cwd=self.cwd,
                start_new_session=True,
            )
        track(self)

        logger.info(
            "process_started name=%s pid=%d log=%s", self.name, self.pid, self.log_path
        )
        return self

    def wait_for_port(
        self, port: int, host: str = LOOPBACK, timeout: float = 60.0
    ) -> None:
        """Wait until host:port accepts TCP connections, or raise StartupError."""
        self._wait_until(lambda: port_accepts(port, host), f"{host}:{port}", timeout)

    def wait_for_http(
        self, url: str, timeout: float = 60.0, expected_status: int = 200
    ) -> None:
        """Wait until GET `url` returns `expected_status`, or raise StartupError."""
        self._wait_until(lambda: http_answers(url, expected_status), url, timeout)

    def _wait_until(
        self, is_ready: Callable[[], bool], target: str, timeout: float
    ) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if is_ready():
                logger.info("process_ready name=%s target=%s", self.name, target)
                return

            status = self.returncode
            if status is not None:
                raise StartupError(
                    f"{self.name} exited with status {status} before {target} "
                    f"responded; last lines of {self.log_path}:\n{self.log_tail()}"
                )
            if time.monotonic() >= deadline:
                raise StartupError(
                    f"{self.name} did not respond on {target} within {timeout:g} s; "
                    f"last lines of {self.log_path}:\n{self.log_tail()}"
                )
            time.sleep(POLL_INTERVAL_SECONDS)

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        return read_log_tail(self.log_path, lines)

    def stop(self, timeout: float | None = None) -> int | None:
        """Send SIGTERM, then SIGKILL after `timeout` seconds; return the exit status.

        Safe to call more than once and on a process that already exited.
        """
        untrack(self)
        if self._popen is None:
            return None
        timeout = self.stop_timeout if timeout is None else timeout

        if self._popen.poll() is None:
            self._signal_group(signal.SIGTERM)
            try:
                self._popen.wait(timeout)
            except subprocess.TimeoutExpired:
                logger.warning(
                    "process_killed name=%s pid=%d reason=still running %.0f s "
                    "after SIGTERM",
                    self.name,
                    self.pid,
                    timeout,
                )
                self._signal_group(signal.SIGKILL)
                self._popen.wait()
        # Children that outlived the group leader would keep ports and files open.
        self._signal_group(signal.SIGKILL)

        logger.info(
            "process_stopped name=%s pid=%d status=%s",
            self.name,
            self.pid,
            self._popen.returncode,
        )
        return self._popen.returncode

    def _signal_group(self, signum: signal.Signals) -> None:
        assert self._popen is not None
        try:
            os.killpg(self._popen.pid, signum)
        except ProcessLookupError:
            pass


def run_command(
    name: str,
    argv: Sequence[str],
    *,
    log_path: Path,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 600.0,
) -> str:
    """Run a one-shot command to completion and return its standard output.

    Standard error goes to `log_path` as it is written; standard output is appended
    to the same file once the command ends. Raises CommandFailedError, with the
    log tail, when the command fails or runs longer than `timeout` seconds.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        try:
            completed = subprocess.run(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=log,
                env=dict(env) if env is not None else None,
                cwd=cwd,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            log.write(exc.output or b"")
            timed_out = exc
        else:
            log.write(completed.stdout)
            timed_out = None

    if timed_out is not None:
        raise CommandFailedError(
            f"{name} timed out after {timeout:g} s; last lines of {log_path}:\n"
            f"{read_log_tail(log_path)}"
        ) from timed_out
    if completed.returncode != 0:
        raise CommandFailedError(
            f"{name} exited with status {completed.returncode}; last lines of "
            f"{log_path}:\n{read_log_tail(log_path)}"
        )
    logger.info("command_succeeded name=%s log=%s", name, log_path)
    return completed.stdout.decode("utf-8", errors="replace")
