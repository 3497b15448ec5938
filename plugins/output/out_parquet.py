"""Parquet output: each batch's rows appended under a directory, partitioned by UTC date.

Spark writes the files from the executors (``DataFrame.write``), so rows never pass through the
driver, and the directory may be local (``file:``) or on HDFS (``hdfs://``, over Hadoop RPC).
Columns: ``key`` string, ``score`` double, ``title`` string, ``@timestamp`` timestamp (the
batch time, as documents carry it), ``metadata`` string (JSON), and the partition column
``date`` (``date=YYYY-MM-DD``, the batch's UTC date).

``metadata`` is a JSON object rather than a ``map<string,string>``: rows of one use case may
carry different keys and value types, and JSON keeps numbers as numbers and nested values as
structures, where a string map would flatten them to text. Any engine reads it
(``get_json_object``, ``from_json``, DuckDB's ``->>``).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import orjson

from datashark.events.records import metadata_of
from datashark.files.paths import has_scheme
from datashark.plugin_api import OutputBatch, OutputPlugin, debug_print

JSON_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS


class Plugin(OutputPlugin):
    CONFIGSPEC = (
        "path = string(min=1)",
        'compression = option("snappy", "none", "gzip", "zstd", default="snappy")',
    )

    def __init__(self, conf, usecase) -> None:
        super().__init__(conf, usecase)
        self.path = usecase.resolve(conf["path"])
        # A plain path would go to Hadoop's default filesystem, which may be HDFS: name the local one.
        self.uri = self.path if has_scheme(self.path) else Path(self.path).as_uri()

    @property
    def destination(self) -> str:
        return f"Parquet {self.path}"

    def write(self, rdd, batch: OutputBatch) -> int:
        """One Spark job appends the batch; the count comes from an observation of that same job,
        so the rows (and the dead-letter check before them) are computed once."""
        from pyspark.sql import Observation, SparkSession
        from pyspark.sql.functions import count, lit

        spark = SparkSession.builder.getOrCreate()
        frame = spark.createDataFrame(rdd.map(ParquetRow(batch, self.title)), schema())
        if self.debug:
            frame = frame.persist()
            for row in frame.toLocalIterator():
                debug_print(str(tuple(row)))
        written = Observation("written")
        try:
            (
                frame.observe(written, count(lit(1)).alias("rows"))
                .write.mode("append")
                .partitionBy("date")
                .option("compression", self.conf["compression"])
                .parquet(self.uri)
            )
        finally:
            if self.debug:
                frame.unpersist()
        return written.get["rows"]


class ParquetRow:
    """A result row as a tuple of ``schema()``; runs on the executors."""

    def __init__(self, batch: OutputBatch, title: str) -> None:
        # The second-precision UTC time documents carry as @timestamp.
        self.timestamp = datetime.fromisoformat(batch.utc_iso.replace("Z", "+00:00"))
        self.title = title

    def __call__(self, row: tuple) -> tuple:
        metadata = orjson.dumps(metadata_of(row), option=JSON_OPTIONS, default=str).decode()
        return (row[0], float(row[1]), self.title, self.timestamp, metadata, self.timestamp.date())


def schema():
    """The Parquet columns, ``date`` last: it becomes the partition directory."""
    from pyspark.sql.types import (
        DateType,
        DoubleType,
        StringType,
        StructField,
        StructType,
        TimestampType,
    )

    return StructType(
        [
            StructField("key", StringType(), nullable=False),
            StructField("score", DoubleType(), nullable=False),
            StructField("title", StringType(), nullable=False),
            StructField("@timestamp", TimestampType(), nullable=False),
            StructField("metadata", StringType(), nullable=False),
            StructField("date", DateType(), nullable=False),
        ]
    )
