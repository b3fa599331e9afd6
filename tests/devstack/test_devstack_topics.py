import pytest
from aiokafka.admin import AIOKafkaAdminClient

from shared.contracts import Topic
from shared.devstack.stack import TOPIC_PARTITIONS

pytestmark = pytest.mark.integration


async def describe_partitions(bootstrap_servers: str) -> dict[str, int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        described = await admin.describe_topics([str(topic) for topic in Topic])
    finally:
        await admin.close()
    return {topic["topic"]: len(topic["partitions"]) for topic in described}


async def test_contract_topics_exist_after_start(devstack):
    partitions = await describe_partitions(devstack.kafka_bootstrap_servers)

    assert partitions == {str(topic): TOPIC_PARTITIONS for topic in Topic}


def test_create_topics_skips_existing(devstack):
    created = devstack.kafka.create_topics(list(Topic))

    assert created == []
