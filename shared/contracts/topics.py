"""Kafka topic names. The suffix is the major version of the payloads: a change
that breaks existing subscribers goes to a new topic, never into an old one."""

from enum import StrEnum


class Topic(StrEnum):
    """Topics, each with the key that orders its messages."""

    # Key: responsable_id. Published by the importer, in batches.
    RESPONSABLES = "educonnect.import.responsables.v2"
    # Key: eleve_id. Published by the importer, in batches. Each pupil's
    # event carries the pupil's links.
    ELEVES = "educonnect.import.eleves.v2"
    # Key: eleve_id, so that every change to one pupil's links stays in order.
    # Published by links, in batches.
    LINKS = "educonnect.links.v2"
    # Key: eleve_id. The links topic of one event per message. Links no longer
    # publishes there, but the notifier reads what an earlier release left.
    LINKS_V1 = "educonnect.links.v1"
    # Key: account_id. Published by identity; carries one-time codes and reset
    # links, so access to it is restricted and its retention short.
    IDENTITY_MESSAGES = "educonnect.identity.messages.v1"


# Topics whose message value is a JSON array of events rather than one event.
# The events of a message all have keys of the message's partition. So one
# key's events still follow each other on one partition. The message's own
# key is its first event's. A first import of an académie publishes millions
# of events, then links proposes a link for each responsable of each pupil:
# one message each cost the subscribers more than applying them.
#
# The ``ce_type`` of a message of an import topic.
BATCH_TYPE = "import.batch"
# The ``ce_type`` of a message of the links topic.
LINK_BATCH_TYPE = "link.batch"

# The batched topics, with the ``ce_type`` of their messages.
BATCH_TYPES: dict[str, str] = {
    Topic.RESPONSABLES: BATCH_TYPE,
    Topic.ELEVES: BATCH_TYPE,
    Topic.LINKS: LINK_BATCH_TYPE,
}
