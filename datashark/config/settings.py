"""datashark.conf -> Settings: the global knobs every run shares.

The dataShark folder ("home") holds datashark.conf, conf/, plugins/ and lib/. It is found once
here, so no other module guesses at paths.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from datashark.config.spec import read_conf, spec_lines, validate_section
from datashark.errors import ConfLocation
from datashark.files.paths import has_scheme
from datashark.kafka import config as kafka_config

if TYPE_CHECKING:
    pass

HOME_ENV = "DATASHARK_HOME"


def datashark_home() -> Path:
    """``$DATASHARK_HOME`` when set (the scripts set it), else the checkout this package is in."""
    configured = os.environ.get(HOME_ENV)
    return Path(configured).resolve() if configured else Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Settings:
    """The validated contents of datashark.conf, with paths made absolute."""

    home: Path
    batch_interval: int
    checkpoint_dir: str
    deadletter_dir: Path
    hdfs_host: str | None
    hdfs_port: int
    hdfs_webhdfs_port: int
    hdfs_user: str | None
    hdfs_staging_dir: str
    spark_config: dict[str, str] = field(default_factory=dict)
    kafka: dict[str, object] = field(default_factory=dict)
    max_event_bytes: int = 4 << 20
    deadletter_max_bytes_per_day: int = 0
    deadletter_retention_days: int = 0
    hdfs_webhdfs_scheme: str = "http"
    hdfs_ca_file: str | None = None
    hdfs_auth: str = "simple"

    @property
    def conf_path(self) -> Path:
        return self.home / "datashark.conf"

    @property
    def location(self) -> ConfLocation:
        """datashark.conf, for errors about it: ``settings.location.at("hdfs.host")``."""
        return ConfLocation(str(self.conf_path))

    def global_kafka(self) -> kafka_config.KafkaConfig | None:
        """The global Kafka stream's config, None when datashark.conf sets none up.

        Checked when a use case needs it, so an old ZooKeeper setting only matters to streams.
        """
        return kafka_config.global_config(self.kafka, self.location)

    def kafka_defaults(self) -> dict[str, object]:
        """The values an ``[in_kafka]`` override inherits."""
        return kafka_config.inherited_values(self.kafka, self.location)

    @property
    def jars(self) -> list[Path]:
        """Extra jars for Spark, the ``lib/*.jar`` files, as the original's ``--jars``."""
        return sorted((self.home / "lib").glob("*.jar"))


def load_settings(home: Path | None = None) -> Settings:
    """Read and validate ``<home>/datashark.conf``; a missing file means all defaults."""
    home = home or datashark_home()
    path = home / "datashark.conf"
    raw = read_conf(path) if path.exists() else {}
    spec = [*kafka_config.GLOBAL_LEGACY_SPEC, *kafka_config.spec("kafka."), *spec_lines("datashark")]
    conf = validate_section(raw, spec, where=ConfLocation(str(path)), allow_extra=False)
    checkpoint = conf["checkpoint.dir"]
    if not has_scheme(checkpoint):
        checkpoint = str(home / checkpoint)
    return Settings(
        home=home,
        batch_interval=conf["batch.interval"],
        checkpoint_dir=checkpoint,
        deadletter_dir=home / conf["deadletter.dir"],
        hdfs_host=conf["hdfs.host"],
        hdfs_port=conf["hdfs.port"],
        hdfs_webhdfs_port=conf["hdfs.webhdfs.port"],
        hdfs_user=conf["hdfs.user"],
        hdfs_staging_dir=conf["hdfs.staging.dir"],
        hdfs_webhdfs_scheme=conf["hdfs.webhdfs.scheme"],
        hdfs_ca_file=str(home / conf["hdfs.ca.file"]) if conf["hdfs.ca.file"] else None,
        hdfs_auth=conf["hdfs.auth"],
        spark_config=dict(conf["spark_config"]),
        max_event_bytes=conf["max.event.bytes"],
        deadletter_max_bytes_per_day=conf["deadletter.max.bytes.per.day"],
        deadletter_retention_days=conf["deadletter.retention.days"],
        kafka={key: value for key, value in conf.items() if key.startswith(("kafka.", "zookeeper."))},
    )
