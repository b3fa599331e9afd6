"""Kafka topic names. The suffix is the major version of the payloads: a change
that breaks existing subscribers goes to a new topic, never into an old one."""

from enum import StrEnum


class Topic(StrEnum):
    """Topics, each with the key that orders its messages."""

    # Key: responsable_id. Published by the importer.
    RESPONSABLES = "educonnect.import.responsables.v1"
    # Key: eleve_id. Published by the importer; carries the pupil's links.
    ELEVES = "educonnect.import.eleves.v1"
    # Key: eleve_id, so that every change to one pupil's links stays in order.
    LINKS = "educonnect.links.v1"
    # Key: account_id. Published by identity; carries one-time codes and reset
    # links, so access to it is restricted and its retention short.
    IDENTITY_MESSAGES = "educonnect.identity.messages.v1"
