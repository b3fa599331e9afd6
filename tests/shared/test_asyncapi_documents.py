"""The AsyncAPI documents of the services' FastStream apps are checked in and
up to date, and each lists the topics its service reads."""

import importlib

import pytest

from shared.contracts import Topic

SERVICES = {
    "links": {Topic.RESPONSABLES, Topic.ELEVES, Topic.LINKS},
    "identity": {Topic.RESPONSABLES, Topic.ELEVES},
    "notifier": {Topic.LINKS, Topic.LINKS_V1, Topic.IDENTITY_MESSAGES},
}


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_asyncapi_document_is_up_to_date(service):
    module = importlib.import_module(f"services.{service}.asyncapi")

    assert module.DOCUMENT.read_text(encoding="utf-8") == module.render(), (
        f"run python -m services.{service}.asyncapi"
    )


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_asyncapi_document_lists_service_topics(service):
    module = importlib.import_module(f"services.{service}.asyncapi")

    document = module.build_document()

    addresses = {channel["address"] for channel in document["channels"].values()}
    assert addresses == {str(topic) for topic in SERVICES[service]}
    assert "EmptyPayload" not in document["components"]["schemas"]
