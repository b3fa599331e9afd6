import asyncio
import uuid

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from shared.devstack.kafka import KafkaBroker

pytestmark = pytest.mark.integration


async def test_kafka_round_trips_one_message(devstack):
    topic = f"devstack-{uuid.uuid4().hex}"
    producer = AIOKafkaProducer(bootstrap_servers=devstack.kafka_bootstrap_servers)
    await producer.start()
    try:
        await producer.send_and_wait(topic, b"bonjour", key=b"eleve-1")
        partitions = await producer.partitions_for(topic)
    finally:
        await producer.stop()

    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=devstack.kafka_bootstrap_servers,
        group_id=f"group-{uuid.uuid4().hex}",
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        record = await asyncio.wait_for(consumer.getone(), timeout=30)
    finally:
        await consumer.stop()

    assert record.value == b"bonjour"
    assert record.key == b"eleve-1"
    assert partitions == {0, 1, 2}


def test_kafka_listens_on_loopback_only(devstack):
    config = (devstack.workdir / "kafka" / "server.properties").read_text()

    assert f"listeners=PLAINTEXT://{devstack.kafka_bootstrap_servers}," in config
    assert "0.0.0.0" not in config
    assert devstack.kafka_bootstrap_servers.startswith("127.0.0.1:")


def test_kafka_starts_again_in_same_folder(tmp_path):
    for _ in range(2):
        with KafkaBroker(tmp_path / "kafka") as broker:
            assert broker.bootstrap_servers.startswith("127.0.0.1:")
