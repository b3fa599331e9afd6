import dataclasses
import json
import os
import subprocess
import sys

import httpx
import pytest

from shared.devstack.errors import StartupError
from shared.devstack.processes import port_accepts
from shared.devstack.run import main as run_main

pytestmark = pytest.mark.integration


def test_service_env_wires_identity_to_links(devstack):
    links = devstack.service_env("links")
    identity = devstack.service_env("identity")

    assert identity["IDENTITY_LINKS_URL"] == devstack.service_url("links")
    assert (
        identity["IDENTITY_LINKS_URL"] == f"http://127.0.0.1:{links['LINKS_HTTP_PORT']}"
    )
    assert identity["IDENTITY_LINKS_TOKEN"] == links["LINKS_INTERNAL_TOKEN"]
    assert identity["IDENTITY_COOKIE_SECURE"] == "false"
    assert len(identity["IDENTITY_SECRET_KEY"]) >= 32
    assert identity["IDENTITY_NOTICE_SECRET"] != identity["IDENTITY_SECRET_KEY"]


@pytest.mark.parametrize("name", ["links", "identity", "notifier", "importer"])
def test_service_env_has_common_settings(devstack, name):
    prefix = devstack.services[name].env_prefix
    env = devstack.service_env(name)

    assert env[f"{prefix}_DATABASE_URL"] == devstack.database_url
    assert env[f"{prefix}_KAFKA_BOOTSTRAP_SERVERS"] == devstack.kafka_bootstrap_servers
    assert env[f"{prefix}_ENVIRONMENT"] == "test"
    if devstack.services[name].http:
        assert env[f"{prefix}_HTTP_HOST"] == "127.0.0.1"
        assert int(env[f"{prefix}_HTTP_PORT"]) == devstack.http_port(name)
    else:
        assert f"{prefix}_HTTP_PORT" not in env


def test_notifier_env_points_at_mail_catcher(devstack):
    env = devstack.service_env("notifier")

    assert env["NOTIFIER_SMTP_HOST"] == "127.0.0.1"
    assert env["NOTIFIER_SMTP_PORT"] == str(devstack.mail.smtp_port)


def test_start_service_waits_for_healthz(devstack):
    process = devstack.start_service("links")

    response = httpx.get(devstack.service_url("links") + "/env", trust_env=False)

    assert process.is_running()
    assert devstack.start_service("links") is process
    assert response.json() == devstack.service_env("links")
    assert devstack.log_paths()["links"] == devstack.log_dir / "links.log"


def test_run_importer_passes_academie_and_folders(devstack, tmp_path):
    folders = [tmp_path / "siecle" / "week1", tmp_path / "onde" / "week1"]

    output = devstack.run_importer("versailles", folders)

    result = json.loads(output)
    assert result["args"] == ["import", "--academie", "versailles", *map(str, folders)]
    assert result["env"] == devstack.service_env("importer")
    assert (devstack.log_dir / "importer.log").exists()


def test_start_service_failure_shows_log_tail(devstack):
    crashing = dataclasses.replace(
        devstack.services["notifier"],
        name="crashing",
        argv=("-c", "print('NOTIFIER_SMTP_PORT rejected'); raise SystemExit(4)"),
    )
    devstack.services["crashing"] = crashing
    try:
        with pytest.raises(StartupError) as raised:
            devstack.start_service("crashing", timeout=10)
    finally:
        del devstack.services["crashing"]

    assert "crashing exited with status 4" in str(raised.value)
    assert "NOTIFIER_SMTP_PORT rejected" in str(raised.value)


def test_unknown_service_is_rejected(devstack):
    with pytest.raises(ValueError, match="unknown service 'billing'"):
        devstack.service_env("billing")


def test_run_rejects_missing_samples(tmp_path, capsys):
    status = run_main(["--samples", str(tmp_path)])

    assert status == 2
    assert "Sample export folders not found" in capsys.readouterr().err


PLUGIN_USER = """
import json, os
from pathlib import Path

def test_uses_local_stack(local_stack, mail_catcher):
    assert mail_catcher is local_stack.mail
    Path(os.environ["PORTS_FILE"]).write_text(json.dumps({
        "postgres": local_stack.postgres.port,
        "kafka": local_stack.kafka.port,
        "smtp": local_stack.mail.smtp_port,
    }))
"""


@pytest.mark.slow
def test_pytest_plugin_starts_and_stops_stack(tmp_path):
    (tmp_path / "test_plugin_user.py").write_text(PLUGIN_USER)
    ports_file = tmp_path / "ports.json"

    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "shared.devstack.pytest_plugin",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:asyncio",
            "-q",
            "test_plugin_user.py",
        ],
        cwd=tmp_path,
        env={**os.environ, "PORTS_FILE": str(ports_file)},
        capture_output=True,
        text=True,
        timeout=240,
    )

    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "1 passed" in completed.stdout
    ports = json.loads(ports_file.read_text())
    for name, port in ports.items():
        assert not port_accepts(port), f"{name} still listens on {port}"
