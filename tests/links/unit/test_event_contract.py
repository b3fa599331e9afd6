"""The published contract: checked-in JSON Schemas, AsyncAPI and OpenAPI
documents are up to date, and a change that breaks subscribers is caught."""

import copy
import json
from datetime import datetime
from typing import Literal
from uuid import UUID

import pytest
from pydantic import BaseModel, ConfigDict

from services.links import asyncapi, openapi
from shared.contracts import LinkRemoved, Topic
from shared.contracts.compatibility import breaking_changes
from shared.contracts.schema_files import compare, schema_path


def checked_in(model) -> dict:
    return json.loads(schema_path(Topic.LINKS, model).read_text(encoding="utf-8"))


def test_event_schemas_are_up_to_date():
    breaking, stale = compare()

    assert breaking == []
    assert stale == [], "run python -m shared.contracts.schema_files"


def test_asyncapi_document_is_up_to_date():
    assert asyncapi.DOCUMENT.read_text(encoding="utf-8") == asyncapi.render(), (
        "run python -m services.links.asyncapi"
    )


def test_openapi_document_is_up_to_date():
    assert openapi.DOCUMENT.read_text(encoding="utf-8") == openapi.render(), (
        "run python -m services.links.openapi"
    )


def test_asyncapi_lists_every_link_event():
    document = asyncapi.build_document()

    channel = document["channels"]["links.events"]
    assert channel["address"] == Topic.LINKS
    assert document["operations"]["links.events"]["action"] == "send"
    schemas = document["components"]["schemas"]
    for name in (
        "LinkProposed",
        "LinkConfirmed",
        "LinkRefused",
        "LinkRefusalWithdrawn",
        "LinkRemoved",
    ):
        assert name in schemas
    assert {"EleveImported", "ResponsableImported"} <= set(schemas)


def test_asyncapi_references_resolve():
    document = asyncapi.build_document()

    def references(node):
        if isinstance(node, dict):
            if "$ref" in node:
                yield node["$ref"]
            for value in node.values():
                yield from references(value)
        elif isinstance(node, list):
            for value in node:
                yield from references(value)

    for reference in references(document):
        target = document
        for part in reference.removeprefix("#/").split("/"):
            assert part in target, f"unresolved {reference}"
            target = target[part]


class _Removed(BaseModel):
    """LinkRemoved as a careless change could make it."""

    model_config = ConfigDict(extra="forbid")

    academie: str
    link_id: UUID
    eleve_id: str
    responsable: str
    occurred_at: datetime
    type: Literal["link.removed"] = "link.removed"
    previous_state: Literal["proposed", "confirmed", "refused"]


def test_renamed_field_breaks_subscribers():
    changes = breaking_changes(checked_in(LinkRemoved), _Removed.model_json_schema())

    assert "$.responsable_id: field removed or renamed" in changes
    assert "$.responsable: new required field" in changes


def mutated(model, change) -> dict:
    schema = copy.deepcopy(checked_in(model))
    change(schema)
    return schema


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda s: s["properties"].pop("eleve_id"),
            "$.eleve_id: field removed or renamed",
        ),
        (
            lambda s: s["properties"].update(occurred_at={"type": "integer"}),
            "$.occurred_at: type changed",
        ),
        (
            lambda s: (
                s["properties"].update(motif={"type": "string"}),
                s["required"].append("motif"),
            ),
            "$.motif: new required field",
        ),
        (
            lambda s: s["properties"]["previous_state"]["enum"].append("archived"),
            "$.previous_state: values changed",
        ),
        (
            lambda s: s["properties"].update(link_id={"type": "string"}),
            "$.link_id: type changed",
        ),
    ],
)
def test_breaking_change_is_reported(change, expected):
    changes = breaking_changes(checked_in(LinkRemoved), mutated(LinkRemoved, change))

    assert any(line.startswith(expected) for line in changes), changes


@pytest.mark.parametrize(
    "change",
    [
        lambda s: s["properties"].update(motif={"type": "string"}),
        lambda s: s["properties"]["eleve_id"].update(description="Pupil id."),
        lambda s: s["properties"]["previous_state"]["enum"].remove("proposed"),
        lambda s: s["properties"].update(
            eleve_id={"anyOf": [{"type": "string"}], "title": "Eleve Id"}
        ),
    ],
)
def test_compatible_change_is_accepted(change):
    assert breaking_changes(checked_in(LinkRemoved), mutated(LinkRemoved, change)) == []


def test_nested_field_change_is_reported():
    from shared.contracts import LinkRefused

    def drop_ine(schema):
        schema["$defs"]["LinkedEleve"]["properties"].pop("ine")

    changes = breaking_changes(checked_in(LinkRefused), mutated(LinkRefused, drop_ine))

    assert changes == ["$.eleve.ine: field removed or renamed"]


def test_nullable_field_made_required_string_breaks():
    from shared.contracts import LinkRefused

    def narrow(schema):
        schema["$defs"]["LinkedEleve"]["properties"]["ine"] = {"type": "integer"}

    changes = breaking_changes(checked_in(LinkRefused), mutated(LinkRefused, narrow))

    assert len(changes) == 1
    assert changes[0].startswith("$.eleve.ine: type changed")
