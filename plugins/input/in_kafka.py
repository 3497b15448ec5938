"""Kafka input: ``input = kafka`` reads the topic(s) of ``[in_kafka]`` with a direct stream.

Keys (each defaults to datashark.conf's ``kafka.<key>``): ``bootstrap.servers``, ``topics``,
``group.id``, ``starting.offsets``, ``max.records.per.partition``, ``client`` and the
security keys. The implementation lives in ``datashark.kafka``, shared with the global stream.
"""

from datashark.kafka.input import KafkaInput as Plugin

__all__ = ["Plugin"]
