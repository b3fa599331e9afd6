"""The key partitioning that the outbox relay uses in place of aiokafka's
own, and the ids of the events of a grouped outbox row and of a batch."""

import uuid

from aiokafka.partitioner import DefaultPartitioner
from aiokafka.partitioner import murmur2 as aiokafka_murmur2
from hypothesis import given
from hypothesis import strategies as st

from shared.kafka import batch_event_id, key_partition, murmur2
from shared.outbox import grouped_event_id


@given(st.binary(max_size=100))
def test_murmur2_matches_aiokafka(data):
    assert murmur2(data) == aiokafka_murmur2(data)


def test_murmur2_of_known_keys():
    # Every tail length (0 to 3 bytes after the 4-byte words), including an
    # empty key and bytes over 0x7F.
    for data in (b"", b"a", b"ab", b"abc", b"abcd", b"9900050000A", b"\xff\x80\x00"):
        assert murmur2(data) == aiokafka_murmur2(data)


@given(st.binary(min_size=1, max_size=40), st.integers(min_value=1, max_value=64))
def test_key_partition_matches_default_partitioner(key, count):
    partitions = list(range(count))

    assert key_partition(key, partitions) == DefaultPartitioner()(
        key, partitions, partitions
    )


@given(st.uuids(version=4))
def test_grouped_event_ids_distinct_uuid4(first):
    ids = [grouped_event_id(str(first), position) for position in range(1_000)]

    assert ids[0] == str(first)
    assert len(set(ids)) == len(ids)
    for text in ids:
        value = uuid.UUID(text)
        assert value.version == 4
        assert value.variant == uuid.RFC_4122
        assert str(value) == text
        # Only the node field, random in a version 4 UUID, differs.
        assert text[:24] == str(first)[:24]


@given(st.uuids(version=4))
def test_batch_event_ids_distinct_uuid5(batch_id):
    ids = [batch_event_id(batch_id, position) for position in range(1_000)]

    assert ids[0] == batch_id
    assert len(set(ids)) == len(ids)
    assert {value.version for value in ids[1:]} == {5}
    # The same each time: a redelivered batch gives its events the same ids.
    assert ids == [batch_event_id(batch_id, position) for position in range(1_000)]
