"""The Kafka input plugin: ``input = kafka`` with ``[in_kafka]``, and the global stream.

A streaming use case without ``input`` reads the global stream of datashark.conf; one with
``input = kafka`` reads its own topic(s), inheriting every key it does not set. Both are the
same direct stream, shared by all use cases with the same settings.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from datashark import console
from datashark.errors import ConfigError
from datashark.kafka import config as kafka_config
from datashark.kafka import stream as kafka_stream
from datashark.plugin_api import InputPlugin

if TYPE_CHECKING:
    from datashark.frames.kafka import ProgressCommitter

# Notices about datashark.conf's Kafka keys already printed: once per process, never reset.
_NOTICES_GIVEN: set[str] = set()


def _notice(text: str) -> None:
    """Once per process: every use case on the global stream would otherwise repeat it."""
    if text not in _NOTICES_GIVEN:
        _NOTICES_GIVEN.add(text)
        console.to_stderr(text)


class KafkaInput(InputPlugin):
    CONFIGSPEC = (*kafka_config.spec(defaults=False), *kafka_config.OVERRIDE_LEGACY_SPEC)
    TEXT_ONLY = False
    PARSES_MESSAGES = True

    def __init__(
        self, conf: dict[str, Any], usecase, settings, *, global_config=None, section: str = "in_kafka"
    ) -> None:
        """``section``: the conf section of the keys, for errors (another input's, reading Kafka)."""
        super().__init__(conf, usecase, settings)
        self.progress: ProgressCommitter | None = None  # a DataFrame use case's group commits
        self.fields: list[str] | None = None  # the fields a DataFrame use case parses (None: all)
        if global_config is not None:
            self.config, self.kind = global_config, "Global Kafka Stream"
            return
        where = usecase.location.section(section)
        self.config = kafka_config.override_config(conf, settings.kafka_defaults(), where)
        self.kind = "Local Kafka Stream"
        if conf["partitions"]:
            console.to_stderr(
                f"[!] {where}: 'partitions' is ignored: each Kafka partition is read by its own task"
            )

    @classmethod
    def global_stream(cls, settings, usecase) -> KafkaInput:
        """The input of a streaming use case that names none: datashark.conf's Kafka stream."""
        config = settings.global_kafka()
        if config is None:
            raise ConfigError(
                f"{usecase.path}: no 'input' and no global Kafka stream: set kafka.bootstrap.servers and "
                f"kafka.topics in {settings.conf_path}, or give the use case an input (e.g. input = file)"
            )
        for note in kafka_config.global_notes(settings.kafka):
            _notice(f"[!] {settings.conf_path}: {note}")
        return cls({}, usecase, settings, global_config=config)

    @property
    def description(self) -> str:
        if self.usecase.reads_frames:
            return f"{self.kind} ({self.config.describe()}, Spark's Kafka source)"
        return f"{self.kind} ({kafka_stream.describe(self.config)})"

    @property
    def key(self) -> tuple:
        return ("kafka", self.config)

    def stream(self, ssc):
        return kafka_stream.dstream(ssc, kafka_stream.register(self.config))

    def _source(self) -> kafka_stream.KafkaSource:
        return kafka_stream.register(self.config)

    def batch_time(self, batch_time: datetime) -> datetime:
        return self._source().batch_time(batch_time)

    def track(self, consumer: str) -> None:
        self._source().tracker.add_consumer(consumer)

    def stop_reading(self) -> None:
        self._source().draining = True

    def batch_generated(self, consumer: str, batch_time) -> None:
        self._source().expect(consumer, batch_time)

    def batch_delivered(self, consumer: str, batch_time) -> None:
        self._source().delivered(consumer, batch_time)

    def batch_failed(self, consumer: str, batch_time) -> None:
        self._source().failed(consumer, batch_time)

    def frames(self, spark, fields=None):
        from datashark.frames.events import value_frame
        from datashark.frames.kafka import ProgressCommitter, kafka_messages, progress_group

        self.progress = ProgressCommitter(progress_group(self.config, self.usecase))
        self.fields = fields
        return value_frame(self.usecase, kafka_messages(spark, self.config, self.usecase), fields)

    def frames_batch(self, spark, checkpoint, batch_id):
        from datashark.frames.checkpoint import kafka_range
        from datashark.frames.events import value_frame
        from datashark.frames.kafka import batch_messages

        start, end = kafka_range(spark.sparkContext, checkpoint, batch_id)
        messages = batch_messages(spark, self.config, self.usecase, start, end)
        return value_frame(self.usecase, messages, self.fields)

    def frames_delivered(self, offsets: str) -> None:
        if self.progress is not None:
            self.progress.commit(offsets)

    def close(self) -> None:
        kafka_stream.unregister(self.config)
        if self.progress is not None:
            self.progress.close()
