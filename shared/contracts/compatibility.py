"""Detection of the JSON Schema changes that break an event's existing subscribers.

A subscriber was written against the old schema and now reads what the new
one describes. It breaks when a field it reads is gone (removed or renamed),
when a field's type changes (including a new value of an enumeration or a
constant), or when a new required field appears. A new optional field is
compatible, on the condition that subscribers ignore fields they do not know
(the tolerant-reader rule stated in docs/events.md).
"""

from typing import Any

Schema = dict[str, Any]

# Keys that only document a schema, so changing them breaks no subscriber.
_ANNOTATIONS = {"title", "description", "default", "examples"}


def breaking_changes(old: Schema, new: Schema) -> list[str]:
    """Return one line per change from ``old`` to ``new`` that breaks an
    existing subscriber; an empty list when the change is compatible."""
    return _compare(old, new, old, new, "$")


def _resolve(schema: Schema, root: Schema) -> Schema:
    while "$ref" in schema:
        reference = schema["$ref"]
        if not reference.startswith("#/"):
            raise ValueError(f"unsupported $ref {reference!r}: only local references")
        target: Any = root
        for part in reference[2:].split("/"):
            target = target[part]
        schema = target
    return schema


def _compare(
    old: Schema, new: Schema, old_root: Schema, new_root: Schema, where: str
) -> list[str]:
    old, new = _resolve(old, old_root), _resolve(new, new_root)

    if "anyOf" in new:
        # Every shape the producer may now send must be one the subscriber reads.
        return [
            problem
            for branch in new["anyOf"]
            for problem in _compare(old, branch, old_root, new_root, where)
        ]
    if "anyOf" in old:
        attempts = [
            _compare(branch, new, old_root, new_root, where) for branch in old["anyOf"]
        ]
        if any(not problems for problems in attempts):
            return []
        return [f"{where}: type changed to {_shape(new)}, expected {_shape(old)}"]

    if old.get("type") != new.get("type") or old.get("format") != new.get("format"):
        return [f"{where}: type changed from {_shape(old)} to {_shape(new)}"]
    allowed = _allowed_values(old)
    if allowed is not None:
        sent = _allowed_values(new)
        if sent is None or not sent <= allowed:
            return [f"{where}: values changed from {_shape(old)} to {_shape(new)}"]

    if old.get("type") == "object":
        return _compare_objects(old, new, old_root, new_root, where)
    if old.get("type") == "array" and "items" in old:
        return _compare(
            old["items"], new.get("items", {}), old_root, new_root, f"{where}[]"
        )
    return []


def _compare_objects(
    old: Schema, new: Schema, old_root: Schema, new_root: Schema, where: str
) -> list[str]:
    old_properties = old.get("properties", {})
    new_properties = new.get("properties", {})
    problems = [
        f"{where}.{name}: field removed or renamed"
        for name in old_properties
        if name not in new_properties
    ]
    problems += [
        f"{where}.{name}: new required field"
        for name in new.get("required", [])
        if name not in old_properties
    ]
    for name, schema in old_properties.items():
        if name in new_properties:
            problems += _compare(
                schema, new_properties[name], old_root, new_root, f"{where}.{name}"
            )
    return problems


def _allowed_values(schema: Schema) -> frozenset | None:
    if "const" in schema:
        return frozenset([schema["const"]])
    if "enum" in schema:
        return frozenset(schema["enum"])
    return None


def _shape(schema: Schema) -> str:
    shown = {key: value for key, value in schema.items() if key not in _ANNOTATIONS}
    return str(shown.get("anyOf") or shown)
