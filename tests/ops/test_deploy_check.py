"""deploy/check.sh validates the compose file and the Kubernetes overlays, and
the schemas it validates against reject what the API server would reject."""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from shared.contracts import Topic
from shared.devstack.stack import TOPIC_PARTITIONS

REPO_ROOT = Path(__file__).resolve().parents[2]
DEPLOY = REPO_ROOT / "deploy"


def load_schema_converter():
    spec = importlib.util.spec_from_file_location(
        "k8s_schemas", DEPLOY / "k8s_schemas.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_check(**variables: str) -> tuple[int, str]:
    completed = subprocess.run(
        ["bash", str(DEPLOY / "check.sh")],
        cwd=REPO_ROOT,
        env=os.environ | {"PYTHON": sys.executable} | variables,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    return completed.returncode, completed.stdout + completed.stderr


@pytest.mark.slow
def test_check_script_validates_compose_and_overlays() -> None:
    returncode, output = run_check()

    assert returncode == 0, output

    assert "9 services" in output
    for target in ("base", "overlays/dev", "overlays/production"):
        assert f"== deploy/k8s/{target}\n" in output
    assert output.count("Invalid: 0, Errors: 0, Skipped: 0") == 3


def test_compose_creates_every_topic() -> None:
    # The compose broker does not create topics on first use, so the topic
    # job must create each topic of the contracts, with the local stack's
    # partition count.
    compose = (DEPLOY / "compose.yaml").read_text()
    loop = next(line for line in compose.splitlines() if "for topic in" in line)
    created = loop.split(" in ", 1)[1].split(";")[0].split()

    assert sorted(created) == sorted(str(topic) for topic in Topic)
    assert f"--partitions {TOPIC_PARTITIONS} " in compose


INT_OR_STRING_REF = "#/definitions/io.k8s.apimachinery.pkg.util.intstr.IntOrString"
QUANTITY_REF = "#/definitions/io.k8s.apimachinery.pkg.api.resource.Quantity"

BROKEN_DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: broken
spec:
  replicas: two
  selector:
    matchLabels: {app: broken}
  template:
    metadata:
      labels: {app: broken}
    spec:
      containers:
        - name: broken
          image: educonnect-links
          readinessProbe:
            httpGet: {path: /readyz, port: 8001}
            periodSecond: 5
"""


@pytest.mark.slow
def test_check_script_fails_on_invalid_manifest(tmp_path: Path) -> None:
    (tmp_path / "deployment.yaml").write_text(BROKEN_DEPLOYMENT)
    (tmp_path / "kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\n"
        "kind: Kustomization\n"
        "resources: [deployment.yaml]\n"
    )

    returncode, output = run_check(CHECK_K8S_TARGETS=str(tmp_path))

    assert returncode == 1, output
    assert "Deployment broken is invalid" in output
    assert "/spec/replicas" in output
    assert "'periodSecond' not allowed" in output


@pytest.mark.slow
def test_check_script_fails_on_invalid_compose_file(tmp_path: Path) -> None:
    compose = (DEPLOY / "compose.yaml").read_text()
    broken = tmp_path / "compose.yaml"
    broken.write_text(
        compose.replace("condition: service_completed_successfully", "condition: done")
    )

    returncode, output = run_check(CHECK_COMPOSE_FILE=str(broken))

    assert returncode != 0, output
    assert "is not a valid compose file" in output
    assert "condition" in output


SWAGGER = {
    "definitions": {
        "io.k8s.api.apps.v1.Example": {
            "type": "object",
            "required": ["spec"],
            "properties": {
                "apiVersion": {"type": "string"},
                "kind": {"type": "string"},
                "spec": {"$ref": "#/definitions/io.k8s.api.apps.v1.ExampleSpec"},
            },
            "x-kubernetes-group-version-kind": [
                {"group": "apps", "kind": "Example", "version": "v1"}
            ],
        },
        "io.k8s.api.apps.v1.ExampleSpec": {
            "type": "object",
            "properties": {
                "port": {"$ref": INT_OR_STRING_REF},
                "memory": {"$ref": QUANTITY_REF},
            },
        },
        "io.k8s.apimachinery.pkg.util.intstr.IntOrString": {
            "type": "string",
            "format": "int-or-string",
        },
        "io.k8s.apimachinery.pkg.api.resource.Quantity": {"type": "string"},
    }
}


@pytest.fixture
def example_schema(tmp_path: Path) -> dict:
    converter = load_schema_converter()
    written = converter.convert(SWAGGER, tmp_path)
    assert written == 1
    return json.loads((tmp_path / "example-apps-v1.json").read_text())


def example(**spec) -> dict:
    return {"apiVersion": "apps/v1", "kind": "Example", "spec": spec}


def test_schema_accepts_numeric_quantities(
    example_schema: dict,
) -> None:
    jsonschema.validate(example(port=8000, memory=1), example_schema)
    jsonschema.validate(example(port="http", memory="512Mi"), example_schema)


def test_schema_rejects_unknown_field(example_schema: dict) -> None:
    with pytest.raises(jsonschema.ValidationError, match="portz"):
        jsonschema.validate(example(portz=1), example_schema)


def test_schema_rejects_other_api_version(example_schema: dict) -> None:
    document = example(port=1) | {"apiVersion": "apps/v1beta1"}

    with pytest.raises(jsonschema.ValidationError, match="apps/v1beta1"):
        jsonschema.validate(document, example_schema)


def test_schema_core_group_file_name(tmp_path: Path) -> None:
    converter = load_schema_converter()
    swagger = {
        "definitions": {
            "io.k8s.api.core.v1.ConfigMap": {
                "type": "object",
                "properties": {"data": {"type": "object"}},
                "x-kubernetes-group-version-kind": [
                    {"group": "", "kind": "ConfigMap", "version": "v1"}
                ],
            }
        }
    }

    converter.convert(swagger, tmp_path)

    assert [path.name for path in tmp_path.iterdir()] == ["configmap-v1.json"]
