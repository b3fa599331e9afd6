import os
import signal
import subprocess
import sys
import time

import pytest

from shared.devstack.errors import CommandFailedError, StartupError
from shared.devstack.paths import REPO_ROOT
from shared.devstack.ports import free_port
from shared.devstack.processes import ManagedProcess, run_command

SLEEPER = "import time; print('sleeping', flush=True); time.sleep(600)"
IGNORES_SIGTERM = (
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
    "print('ready', flush=True); time.sleep(600)"
)


def python(code, *args):
    return [sys.executable, "-c", code, *args]


def test_process_stop_sends_sigterm(tmp_path):
    process = ManagedProcess("sleeper", python(SLEEPER), log_path=tmp_path / "s.log")
    process.start()

    status = process.stop()

    assert status == -signal.SIGTERM
    assert not process.is_running()
    assert process.stop() == -signal.SIGTERM


def test_process_stop_kills_after_timeout(tmp_path):
    log_path = tmp_path / "stubborn.log"
    process = ManagedProcess("stubborn", python(IGNORES_SIGTERM), log_path=log_path)
    process.start()
    process._wait_until(lambda: "ready" in log_path.read_text(), "ready line", 10)

    status = process.stop(timeout=0.5)

    assert status == -signal.SIGKILL


def test_wait_for_http_reports_exit_with_log_tail(tmp_path):
    crashing = python("import sys; print('settings invalid'); sys.exit(3)")
    process = ManagedProcess("crashing", crashing, log_path=tmp_path / "c.log")
    process.start()

    with pytest.raises(StartupError) as raised:
        process.wait_for_http(f"http://127.0.0.1:{free_port()}/healthz", timeout=10)

    assert "crashing exited with status 3" in str(raised.value)
    assert "settings invalid" in str(raised.value)


def test_wait_for_port_times_out(tmp_path):
    process = ManagedProcess("sleeper", python(SLEEPER), log_path=tmp_path / "s.log")
    process.start()
    try:
        with pytest.raises(StartupError) as raised:
            process.wait_for_port(free_port(), timeout=0.5)
    finally:
        process.stop()

    assert "did not respond" in str(raised.value)
    assert "within 0.5 s" in str(raised.value)
    assert "sleeping" in str(raised.value)


STARTS_CHILD_THEN_WAITS = """
import sys, time
from pathlib import Path
from shared.devstack.processes import ManagedProcess

child = ManagedProcess(
    "child", [sys.executable, "-c", "import time; time.sleep(600)"],
    log_path=Path(sys.argv[1]),
).start()
print(child.pid, flush=True)
if sys.argv[2] == "exit":
    sys.exit(0)
time.sleep(600)
"""


def wait_until_gone(pid, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


@pytest.mark.parametrize("ending", ["exit", "SIGTERM", "SIGINT", "SIGHUP"])
def test_children_stopped_when_parent_ends(tmp_path, ending):
    parent = subprocess.Popen(
        python(STARTS_CHILD_THEN_WAITS, str(tmp_path / "child.log"), ending),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        cwd=REPO_ROOT,
        text=True,
    )
    child_pid = int(parent.stdout.readline())
    if ending != "exit":
        parent.send_signal(signal.Signals[ending])
    parent.wait(timeout=30)
    parent.stdout.close()

    assert wait_until_gone(child_pid)


def test_run_command_returns_stdout_and_logs_stderr(tmp_path):
    log_path = tmp_path / "command.log"
    code = "import sys; print('result'); print('diagnostic', file=sys.stderr)"

    output = run_command("printer", python(code), log_path=log_path)

    assert output == "result\n"
    assert "diagnostic" in log_path.read_text()
    assert "result" in log_path.read_text()


def test_run_command_failure_includes_log_tail(tmp_path):
    code = "import sys; print('import rejected', file=sys.stderr); sys.exit(2)"

    with pytest.raises(CommandFailedError) as raised:
        run_command("failing", python(code), log_path=tmp_path / "f.log")

    assert "failing exited with status 2" in str(raised.value)
    assert "import rejected" in str(raised.value)
