"""Write kubeconform's JSON schemas from the Kubernetes OpenAPI v2 document.

    python deploy/k8s_schemas.py SWAGGER_JSON OUTPUT_DIR

kubeconform fetches its schemas from GitHub by default. This converter builds
the same kind of files offline from ``api/openapi-spec/swagger.json`` of the
``k8s.io/kubernetes`` Go module, which the Go module proxy serves. One file is
written per kind and version, named as kubeconform's ``{{ .ResourceKind }}
{{ .KindSuffix }}.json`` template expects (``deployment-apps-v1.json``,
``configmap-v1.json``). Each file is standalone: it carries the definitions it
refers to under ``definitions``.

The conversion follows what the openapi2jsonschema tool does for the schemas
that kubeconform publishes: objects reject unknown fields (strict mode),
``apiVersion`` and ``kind`` accept only the kind's own values, fields may be
null, and int-or-string and quantity fields accept a number or a string.
"""

import argparse
import json
import sys
from pathlib import Path
from typing import Any

INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity"
DEFINITION_PREFIX = "#/definitions/"


def convert(swagger: dict[str, Any], output_dir: Path) -> int:
    """Write one schema file per kind of ``swagger`` into ``output_dir`` and
    return how many were written."""
    definitions = {
        name: _strict(_with_special_types(name, schema))
        for name, schema in swagger["definitions"].items()
    }
    output_dir.mkdir(parents=True, exist_ok=True)
    written = 0
    for name, schema in definitions.items():
        for kind in swagger["definitions"][name].get(
            "x-kubernetes-group-version-kind", []
        ):
            document = _kind_schema(name, schema, kind, definitions)
            path = output_dir / f"{_file_stem(kind)}.json"
            path.write_text(json.dumps(document, sort_keys=True))
            written += 1
    return written


def _file_stem(kind: dict[str, str]) -> str:
    group = kind["group"].split(".")[0]
    suffix = f"-{group}-{kind['version']}" if group else f"-{kind['version']}"
    return (kind["kind"] + suffix).lower()


def _kind_schema(
    name: str,
    schema: dict[str, Any],
    kind: dict[str, str],
    definitions: dict[str, dict[str, Any]],
) -> dict[str, Any]:
    api_version = (
        f"{kind['group']}/{kind['version']}" if kind["group"] else kind["version"]
    )
    document = json.loads(json.dumps(schema))
    properties = document.setdefault("properties", {})
    properties["apiVersion"] = {"type": "string", "enum": [api_version]}
    properties["kind"] = {"type": "string", "enum": [kind["kind"]]}
    document["$schema"] = "http://json-schema.org/draft-07/schema#"
    document["definitions"] = {
        referenced: definitions[referenced]
        for referenced in sorted(_referenced(schema, definitions))
    }
    return document


def _referenced(
    schema: dict[str, Any], definitions: dict[str, dict[str, Any]]
) -> set[str]:
    found: set[str] = set()
    pending = [schema]
    while pending:
        for reference in _references(pending.pop()):
            if reference not in found:
                found.add(reference)
                pending.append(definitions[reference])
    return found


def _references(node: Any) -> list[str]:
    if isinstance(node, dict):
        names = []
        reference = node.get("$ref")
        if isinstance(reference, str) and reference.startswith(DEFINITION_PREFIX):
            names.append(reference.removeprefix(DEFINITION_PREFIX))
        for value in node.values():
            names.extend(_references(value))
        return names
    if isinstance(node, list):
        return [name for item in node for name in _references(item)]
    return []


def _with_special_types(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    # Both are strings in the OpenAPI document, but manifests write
    # "port: 8000" and "cpu: 1" as YAML numbers, which the API server accepts.
    if name == INT_OR_STRING:
        return {"oneOf": [{"type": "string"}, {"type": "integer"}]}
    if name == QUANTITY:
        return {"oneOf": [{"type": "string"}, {"type": "number"}]}
    return schema


def _strict(node: Any) -> Any:
    """Return a copy of a schema node where objects with listed properties
    reject unknown ones and every typed value may also be null."""
    if isinstance(node, list):
        return [_strict(item) for item in node]
    if not isinstance(node, dict):
        return node

    converted = {
        key: (
            {field: _strict(value) for field, value in child.items()}
            if key == "properties"
            else _strict(child)
        )
        for key, child in node.items()
        if not key.startswith("x-kubernetes-")
    }
    if "properties" in converted and "additionalProperties" not in converted:
        converted["additionalProperties"] = False
    if isinstance(converted.get("type"), str):
        converted["type"] = [converted["type"], "null"]
    return converted


def main(argv: list[str] | None = None) -> int:
    """Parse the command line, convert, and return the exit code."""
    parser = argparse.ArgumentParser(prog="python deploy/k8s_schemas.py")
    parser.add_argument("swagger", type=Path, help="the swagger.json file to read")
    parser.add_argument("output_dir", type=Path, help="folder for the schema files")
    arguments = parser.parse_args(argv)

    try:
        swagger = json.loads(arguments.swagger.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        print(f"error: cannot read {arguments.swagger}: {exc}", file=sys.stderr)
        return 2
    written = convert(swagger, arguments.output_dir)
    if written == 0:
        print(
            f"error: {arguments.swagger} defines no kind "
            "(no x-kubernetes-group-version-kind); is it a Kubernetes swagger.json?",
            file=sys.stderr,
        )
        return 1
    print(f"wrote {written} schemas to {arguments.output_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
