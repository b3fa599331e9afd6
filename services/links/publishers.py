"""Publishers of the links service, declared on its FastStream broker so that
the AsyncAPI document lists what the service sends. The events themselves are
sent by the outbox relay (``shared.outbox``), not through these objects."""

from faststream.kafka import KafkaBroker

from shared.contracts import LinkBatch, Topic

LINKS_DESCRIPTION = (
    "Every change of a link's state, keyed by the pupil id (eleve_id) so that "
    "one pupil's events stay in order. Each message carries a batch: a JSON "
    "array of events of pupils of the message's partition, to be applied in "
    "their order. The event at position p (from 0) of a batch has the id "
    "uuid5(ce_id, str(p)), except the first, whose id is the ce_id. Each "
    "message carries CloudEvents headers in binary mode: ce_specversion, "
    "ce_id (the batch's; deduplicate on it), ce_source 'educonnect/links', "
    "ce_type 'link.batch', ce_time, ce_subject (the first event's pupil id), "
    "and correlation_id when known."
)


def register_publishers(broker: KafkaBroker) -> None:
    """Declare the links topic and its event payloads on ``broker``."""
    broker.publisher(
        Topic.LINKS,
        title="links.events",
        description=LINKS_DESCRIPTION,
        schema=LinkBatch,
    )
