"""Link ids and ``link.proposed`` payloads that links writes without the
standard library's or pydantic's help are the same as theirs, byte for byte."""

import uuid
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter

from services.links.domain import _LINK_NAMESPACE, link_id_for
from services.links.handlers import link_proposed_payload
from services.links.repository import NewLink
from shared.contracts.events import LinkProposed

# Any character but lone surrogates, which no decoded message contains:
# accents, quotes, backslashes and control characters, which JSON escapes.
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=30)
TIMES = st.datetimes(
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=1))])
) | st.just(datetime(2026, 12, 5, 7, 0, tzinfo=UTC))


@given(TEXT, TEXT)
def test_link_id_is_uuid5_of_the_pair(eleve_id, responsable_id):
    expected = uuid.uuid5(_LINK_NAMESPACE, f"{eleve_id}\x1f{responsable_id}")

    assert link_id_for(eleve_id, responsable_id) == expected


@given(TEXT, TEXT, TEXT, TIMES)
def test_link_proposed_payload_is_event_json(academie, eleve_id, responsable_id, now):
    link = NewLink(
        link_id=link_id_for(eleve_id, responsable_id),
        eleve_id=eleve_id,
        responsable_id=responsable_id,
        academie=academie,
        source="siecle",
        code_parente="10",
    )
    event = LinkProposed(
        academie=academie,
        link_id=link.link_id,
        eleve_id=eleve_id,
        responsable_id=responsable_id,
        occurred_at=now,
    )

    occurred_at = TypeAdapter(datetime).dump_json(now).decode()
    assert link_proposed_payload(link, occurred_at) == event.model_dump_json()
