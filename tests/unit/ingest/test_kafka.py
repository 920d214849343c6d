"""`ingest.kafka` without a broker: the client options from the settings, and what
the rebalance listener commits when partitions are revoked. Assignment (resume,
read from the beginning, rebuild) needs a consumer group and is tested against
a real broker in `tests/integration/test_kafka.py`."""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass
from pathlib import Path

from aiokafka import TopicPartition

from floodwatch.config.models import KafkaSettings
from floodwatch.ingest.kafka import KafkaSource, _Listener, client_options, shard_name


def test_plaintext_options_name_only_the_brokers() -> None:
    settings = KafkaSettings(bootstrap="10.0.0.1:9092,10.0.0.2:9092")
    assert client_options(settings) == {
        "bootstrap_servers": "10.0.0.1:9092,10.0.0.2:9092",
        "security_protocol": "PLAINTEXT",
    }


def test_sasl_reads_the_password_from_its_file_without_the_newline(tmp_path: Path) -> None:
    secret = tmp_path / "kafka.password"
    secret.write_text("s3cret\n", encoding="utf-8")
    settings = KafkaSettings.model_validate(
        {
            "security_protocol": "SASL_SSL",
            "sasl_mechanism": "SCRAM-SHA-512",
            "username": "floodwatch",
            "password_file": str(secret),
        }
    )
    options = client_options(settings)
    assert options["sasl_mechanism"] == "SCRAM-SHA-512"
    assert options["sasl_plain_username"] == "floodwatch"
    assert options["sasl_plain_password"] == "s3cret"
    assert isinstance(options["ssl_context"], ssl.SSLContext)


def test_a_shard_is_named_by_topic_and_partition() -> None:
    assert shard_name(TopicPartition("floodwatch.readings", 3)) == "floodwatch.readings/3"


@dataclass
class Shard:
    name: str
    next_offset: int


class Parking:
    """The service's side (`Shards`): which shards it feeds, and which it parked."""

    def __init__(self, *shards: Shard) -> None:
        self.feeding = {s.name: s for s in shards}
        self.parked: list[str] = []

    def park_shard(self, name: str) -> Shard | None:
        shard = self.feeding.pop(name, None)
        self.parked.append(name)
        return shard


class Committing(KafkaSource):  # type: ignore[type-arg]
    """Keeps the final offsets it is asked to commit instead of committing them."""

    finals: list[dict[str, int] | None]

    async def commit(self, final: dict[str, int] | None = None) -> None:
        self.finals.append(final)


def test_revoked_partitions_are_parked_and_committed_where_their_shards_stopped() -> None:
    shards = Parking(Shard("t/0", 120), Shard("t/1", 0), Shard("t/2", 7))
    source = Committing(KafkaSettings(), shards, None, None, 100)  # type: ignore[arg-type]
    source.finals = []
    revoked = [TopicPartition("t", 0), TopicPartition("t", 1), TopicPartition("t", 5)]
    asyncio.run(_Listener(source).on_partitions_revoked(revoked))
    assert shards.parked == ["t/0", "t/1", "t/5"]
    # t/1 never fed a message (offset 0) and t/5 had no shard: nothing to commit for them
    assert source.finals == [{"t/0": 120}]
    assert list(shards.feeding) == ["t/2"]
