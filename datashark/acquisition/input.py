"""The syslog input: ``input = syslog`` reads what ``datashark acquire`` received.

The records are read from the acquisition's Kafka topic with the Kafka direct stream (the
``[in_syslog]`` Kafka keys, inheriting datashark.conf's ``kafka.*`` as ``[in_kafka]`` does), or,
in a standalone run without a broker, from the folder its rotated files are moved into
(``folder``), with the folder stream of ``input = file``. Either way ``load()`` gets what
``format = syslog`` gives it (reader.py), after the selectors (selection.py).
"""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Any

from datashark.acquisition.reader import AcquiredSyslogReader
from datashark.acquisition.selection import SELECTOR_SPEC, Selection
from datashark.files.folder_input import FolderInput
from datashark.kafka import config as kafka_config
from datashark.kafka.input import KafkaInput
from datashark.plugin_api import InputPlugin

DEFAULT_TOPIC = "syslog"  # acquire.conf's default
SECTION = "in_syslog"


class SyslogInput(InputPlugin):
    CONFIGSPEC = (
        *kafka_config.spec(defaults=False),
        "folder = string(min=1, default=None)",
        'existing = option("skip", "read", default="skip")',
        *SELECTOR_SPEC,
    )
    TEXT_ONLY = False

    def __init__(self, conf: dict[str, Any], usecase, settings) -> None:
        super().__init__(conf, usecase, settings)
        where = usecase.location.section(SECTION)
        if usecase.conf["format"] != "syslog":
            raise usecase.location.at("format").error(
                "input = syslog hands load() syslog events: set format = syslog"
            )
        self.selection = Selection.from_conf(conf, where)
        self.source: KafkaInput | FolderInput
        kafka_keys = {key: conf[key] for key in kafka_config.KEYS}
        if conf["folder"] is not None:
            if conf["bootstrap.servers"] is not None:
                raise where.error("set 'folder' (the acquisition's files) or 'bootstrap.servers', not both")
            folder_conf = {"folder_path": conf["folder"], "existing": conf["existing"]}
            self.source = FolderInput(folder_conf, usecase, settings)
            return
        if not (conf["bootstrap.servers"] or settings.kafka.get("kafka.bootstrap.servers")):
            raise where.error(
                "reads the acquisition's Kafka topic or its files: set bootstrap.servers (or "
                "kafka.bootstrap.servers in datashark.conf), or folder"
            )
        kafka_keys["topics"] = conf["topics"] or DEFAULT_TOPIC
        legacy = {"host": None, "port": None, "topic": None, "partitions": None}
        self.source = KafkaInput({**kafka_keys, **legacy}, usecase, settings, section=SECTION)

    @property
    def description(self) -> str:
        selected = self.selection.describe()
        return f"Syslog from {self.source.description}" + (f", {selected}" if selected else "")

    @property
    def key(self) -> tuple:
        return self.source.key

    def event_reader(self):
        return partial(AcquiredSyslogReader, selection=self.selection)

    def stream(self, ssc):
        return self.source.stream(ssc)

    def batch_time(self, batch_time: datetime) -> datetime:
        return self.source.batch_time(batch_time)

    def track(self, consumer: str) -> None:
        self.source.track(consumer)

    def batch_generated(self, consumer: str, batch_time: datetime) -> None:
        self.source.batch_generated(consumer, batch_time)

    def batch_delivered(self, consumer: str, batch_time: datetime) -> None:
        self.source.batch_delivered(consumer, batch_time)

    def batch_failed(self, consumer: str, batch_time: datetime) -> None:
        self.source.batch_failed(consumer, batch_time)

    def stop_reading(self) -> None:
        self.source.stop_reading()

    def close(self) -> None:
        self.source.close()
