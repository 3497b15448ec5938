"""Elasticsearch input: a use case hunts over an index pattern (``input = elasticsearch``).

Keys: the connection keys of ``[out_elasticsearch]`` (``hosts``, ``username``/``password`` or
``api_key``, ``ca_certs``, ...), and what to read: ``index`` (a pattern, ``logs-*``),
``query`` (a query string, ``EventID:1 AND Image:*powershell.exe``, or Query DSL JSON as
it is), ``from``/``to`` on ``time_field`` (dates or date math: ``now-24h``), ``fields``
(only these, dotted paths), ``arrays`` (fields read as arrays by a DataFrame use case),
``slices`` (parallel readers: one Spark partition each) and ``page_size``.

``load()`` gets the documents' ``_source`` as ``format = json`` events (dicts for ``api =
rdd``, rows of the index mapping's schema, or of ``schema``, for ``api = dataframe``); the
read runs on the executors from a point in time (``datashark.elastic.search``).

A streaming use case (``api = rdd``) reads the documents of each new interval of
``time_field``, ``delay`` behind the clock, at most ``max_documents`` a batch, from ``from``
(``now``, ``now-24h``, a date) the first time and from where it stopped afterwards; ``to``
has no place there (``datashark.elastic.stream``).
"""

from __future__ import annotations

import dataclasses
import time
from typing import TYPE_CHECKING

from datashark import console
from datashark.config.durations import duration_ms
from datashark.detect.window_state import usecase_state
from datashark.elastic import stream as document_stream
from datashark.elastic.conf import CONNECTION_SPEC, connection_from
from datashark.elastic.connection import server_major
from datashark.elastic.cursor import Pacing, start_ms
from datashark.elastic.mapping import index_properties, mapping_schema, nested_paths
from datashark.elastic.search import Search, close_point_in_time, open_point_in_time, query_of
from datashark.files.state_file import StateFile
from datashark.plugin_api import InputPlugin

if TYPE_CHECKING:
    from datetime import datetime

    from pyspark import RDD
    from pyspark.sql import DataFrame
    from pyspark.sql.types import StructType


class Plugin(InputPlugin):
    CONFIGSPEC = (
        *CONNECTION_SPEC,
        "index = string(min=1)",
        "query = string(default=None)",
        'time_field = string(min=1, default="@timestamp")',
        "from = string(min=1, default=None)",
        "to = string(min=1, default=None)",
        "fields = string(min=1, default=None)",
        "arrays = string(default=None)",
        "slices = integer(min=1, max=1024, default=2)",
        "page_size = integer(min=1, max=10000, default=5000)",
        'delay = string(min=1, default="1m")',
        "max_documents = integer(min=1, default=500000)",
    )
    READS_BATCHES = True
    PARSES_MESSAGES = True  # frames() parses the documents: only the fields load() reads

    def __init__(self, conf, usecase, settings) -> None:
        super().__init__(conf, usecase, settings)
        where = usecase.location.section("in_elasticsearch")
        if usecase.conf["format"] != "json":
            raise usecase.location.at("format").error(
                "input = elasticsearch hands load() JSON documents: set format = json"
            )
        fields = _names(conf["fields"]) or None
        self.time_field: str = conf["time_field"]
        self.pacing: Pacing | None = None
        bounds = (conf["from"], conf["to"])
        if usecase.type == "streaming":  # a stream's range is its cursor
            self.pacing = _pacing(conf, where)
            bounds = (None, None)
        self.search = Search(
            connection_from(conf, where, usecase),
            conf["index"],
            query_of(conf["query"], self.time_field, *bounds, where),
            fields,
            conf["slices"],
            conf["page_size"],
            _names(conf["arrays"]),
        )
        self.where = where
        self.pit: str | None = None
        state_folder = usecase_state(settings.checkpoint_dir, usecase.name)
        self.state_location = f"{state_folder}/{document_stream.STATE_NAME}"
        self.stream_id: str | None = None

    @property
    def description(self) -> str:
        return f"Elasticsearch {self.search.connection.where} index {self.search.index}"

    @property
    def key(self) -> tuple:
        """Each use case has a stream of its own: where it stands is its own state."""
        return (*super().key, self.usecase.name)

    def stream(self, ssc):
        """The documents of each batch's new interval of ``time_field``, as JSON text."""
        self.search = dataclasses.replace(self.search, connection=server_major(self.search.connection))
        if not index_properties(self.search):
            console.to_stderr(
                f"[!] {self.where}: no index matches {self.search.index!r} yet: read once one does"
            )
        state = StateFile(ssc.sparkContext, self.state_location)
        assert self.pacing is not None  # a streaming use case's
        source = document_stream.register(self.search, self.time_field, state, self.pacing, self.usecase.name)
        self.stream_id = source.id
        return document_stream.dstream(ssc, source)

    def _stream(self) -> document_stream.DocumentStream | None:
        return document_stream.stream_of(self.stream_id) if self.stream_id else None

    def batch_time(self, batch_time: datetime) -> datetime:
        source = self._stream()
        return source.batch_time(batch_time) if source else batch_time

    def track(self, consumer: str) -> None:
        if source := self._stream():
            source.track(consumer)

    def batch_generated(self, consumer: str, batch_time: datetime) -> None:
        if source := self._stream():
            source.tracker.expect(consumer, batch_time)

    def batch_delivered(self, consumer: str, batch_time: datetime) -> None:
        if source := self._stream():
            source.delivered(consumer, batch_time)

    def batch_failed(self, consumer: str, batch_time: datetime) -> None:
        if source := self._stream():
            source.failed(consumer, batch_time)

    def stop_reading(self) -> None:
        if source := self._stream():
            source.draining = True

    def batch_records(self, sc) -> RDD:
        """The matching documents as of now, as JSON text."""
        self._open()
        assert self.pit is not None
        return self.search.documents(sc, self.pit)

    def batch_frame(self, spark) -> DataFrame:
        """The documents as rows of the conf's ``schema``, or of the index mapping's (``nested``
        fields and ``arrays`` as arrays, a document's single value wrapped)."""
        from datashark.frames.events import CORRUPT, with_corrupt_column

        self._open()
        assert self.pit is not None
        reader = spark.read.schema(with_corrupt_column(self._frame_schema()))
        reader = reader.option("mode", "PERMISSIVE").option("columnNameOfCorruptRecord", CORRUPT)
        return reader.json(self.search.documents(spark.sparkContext, self.pit))

    def frames(self, spark, fields=None) -> DataFrame:
        """For a streaming DataFrame use case: each batch's interval read by Spark's Python data
        source (``datashark.elastic.frame_source``), as rows of the conf's ``schema`` or of the
        index mapping's as it is at start; ``fields``: only these of the schema are parsed."""
        from datashark.elastic.frame_source import SOURCE_NAME, ElasticsearchStream, source_options
        from datashark.frames.events import value_frame

        assert self.pacing is not None  # a streaming use case's
        self.search = dataclasses.replace(self.search, connection=server_major(self.search.connection))
        schema = self._frame_schema()
        spark.dataSource.register(ElasticsearchStream)
        reader = spark.readStream.format(SOURCE_NAME)
        for name, value in source_options(self.search, self.time_field, self.pacing).items():
            reader = reader.option(name, value)
        return value_frame(self.usecase, reader.load(), fields, schema=schema)

    def _frame_schema(self) -> StructType:
        """The conf's ``schema``, else the index mapping's; the search's ``arrays`` completed
        with the mapping's ``nested`` fields (read as arrays either way)."""
        from datashark.frames.schema import event_schema

        properties = index_properties(self.search)
        arrays = tuple(dict.fromkeys((*self.search.arrays, *nested_paths(properties))))
        self.search = dataclasses.replace(self.search, arrays=arrays)
        schema = event_schema(self.usecase)
        if schema is not None:
            return schema
        if not properties:
            raise self.usecase.location.at("schema").error(
                f"is needed while no index matches {self.search.index!r}: a stream's columns are "
                "fixed when it starts, and there is no mapping to take them from"
            )
        return mapping_schema(properties, self.search.fields, arrays)

    def _open(self) -> None:
        """The cluster's major asked, what matches counted, a point in time opened: an index
        pattern matching no index is an error naming the key (a typo, more often than not)."""
        self.search = dataclasses.replace(self.search, connection=server_major(self.search.connection))
        matched = self.search.count()
        if not matched and not index_properties(self.search):
            raise self.where.at("index").error(f"no index matches {self.search.index!r}")
        console.info(f"{self.usecase.name}: {matched} documents of {self.search.index} to read")
        self.close()
        self.pit = open_point_in_time(self.search)

    def close(self) -> None:
        if self.stream_id is not None:
            document_stream.unregister(self.stream_id)
            self.stream_id = None
        if self.pit is not None:
            close_point_in_time(self.search, self.pit)
            self.pit = None


def _names(text: str | None) -> tuple[str, ...]:
    """``a, b.c`` -> ``("a", "b.c")``."""
    return tuple(dict.fromkeys(name.strip() for name in (text or "").split(",") if name.strip()))


def _pacing(conf, where) -> Pacing:
    """How a stream advances: ``from`` (its first start only), ``delay``, ``max_documents``."""
    if conf["to"] is not None:
        raise where.at("to").error("a stream has no end: remove it (or read the range with type = batch)")
    return Pacing(
        start=start_ms(conf["from"], round(time.time() * 1000), where.at("from")),
        delay=duration_ms(conf["delay"], where.at("delay")),
        max_documents=conf["max_documents"],
    )
