"""Elasticsearch output (8 or 9): each batch's rows as documents, bulk-indexed from the executors.

Keys: ``host``, ``port``, ``index_name``, ``pkey``, ``score``, ``title``, ``debug`` as
original-style confs write them, and the connection keys below. ``@timestamp`` is an ISO-8601
UTC date, metadata cannot overwrite the fields dataShark sets, and a failed write fails the
batch. ``doc_type`` and ``[[options]]`` (es-hadoop settings) are accepted and ignored, with a
notice: Elasticsearch has no mapping types, and the writes do not go through es-hadoop.
"""

from __future__ import annotations

import functools
import json
import re
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from datashark import console
from datashark.elastic.conf import CONNECTION_SPEC, connection_from
from datashark.elastic.connection import server_major
from datashark.plugin_api import OutputBatch, OutputPlugin
from datashark.sinks.documents import TIMESTAMP_FIELD, TITLE_FIELD, document
from datashark.sinks.es_bulk import Fields, PartitionWriter, put_template

if TYPE_CHECKING:
    from pyspark import RDD

    from datashark.config.usecase import UseCase

# Elasticsearch's rules for index names (lowercase, none of these characters, no leading -_+).
BAD_INDEX_CHARACTERS = re.compile(r'[\\/*?"<>| ,#:A-Z]')


class Plugin(OutputPlugin):
    CONFIGSPEC = (
        *CONNECTION_SPEC,
        'index_name = string(min=1, default="usecase")',
        'pkey = string(min=1, default="source_ip")',
        'score = string(min=1, default="anomaly_score")',
        "doc_type = string(default=None)",
        "chunk_size = integer(min=1, max=100000, default=2000)",
        "[options]",
        "__many__ = string()",
    )

    def __init__(self, conf: dict[str, Any], usecase: UseCase) -> None:
        super().__init__(conf, usecase)
        self.connection = connection_from(conf, self.location, usecase)
        self.index_name = conf["index_name"]
        self._check_index_name()
        fields = (conf["pkey"], conf["score"])
        if len({TIMESTAMP_FIELD, TITLE_FIELD, *fields}) < 4:
            raise self.location.error(
                "keys 'pkey' and 'score': must differ from each other, @timestamp and title"
            )
        self.fields = Fields(usecase.name, self.title, *fields)
        self.major_known = False  # the cluster's major, asked at start (or before a debug run's first write)
        self.last_index = self.index_for(datetime.now())
        if conf["doc_type"] is not None:
            console.to_stderr(
                f"{self.location.at('doc_type')}: ignored (Elasticsearch 8+ has no mapping types)"
            )
        if conf["options"]:
            console.to_stderr(
                f"{self.location.section('options')}: ignored (es-hadoop settings; es-hadoop is not used)"
            )

    def _check_index_name(self) -> None:
        sample = self.index_for(datetime(2026, 11, 23, tzinfo=timezone.utc))
        if BAD_INDEX_CHARACTERS.search(sample) or sample.startswith(("-", "_", "+")) or sample in (".", ".."):
            raise self.location.at("index_name").error(
                f"{self.index_name!r} makes {sample!r}, not a valid index "
                'name (lowercase, no spaces or \\/*?"<>|,#:, not starting with -, _ or +)'
            )

    def index_for(self, time: datetime) -> str:
        """``index_name`` with its strftime directives filled from ``time`` in UTC."""
        return time.astimezone(timezone.utc).strftime(self.index_name)

    @property
    def destination(self) -> str:
        """The cluster and the index of the batch just written."""
        return f"Elasticsearch {self.connection.where} index {self.last_index}"

    def start(self) -> None:
        """The cluster's major, then the index template before any index exists: a cluster that
        stays unreachable or refuses the login fails the start, after the usual retries."""
        self._ask_major()
        put_template(self.connection, self.index_name, self.fields.key_field, self.fields.score_field)

    def _ask_major(self) -> None:
        self.connection = server_major(self.connection)
        self.major_known = True

    def write(self, rdd: RDD, batch: OutputBatch) -> int:
        """The rows from the executors (printed first with ``debug``)."""
        self.last_index = self.index_for(batch.time)
        if not self.major_known:
            self._ask_major()
        if not self.debug:
            return super().write(rdd, batch)
        rdd.cache()  # printed, then written: load() and the row checks run once
        try:
            self._print_documents(rdd, batch)
            return super().write(rdd, batch)
        finally:
            rdd.unpersist()

    def _print_documents(self, rdd: RDD, batch: OutputBatch) -> None:
        fields = self.fields
        make = functools.partial(
            document,
            utc_iso=batch.utc_iso,
            title=fields.title,
            key_field=fields.key_field,
            score_field=fields.score_field,
        )
        for doc in rdd.map(make).toLocalIterator():
            console.say(json.dumps(doc, default=str))

    def partition_writer(self, batch: OutputBatch) -> PartitionWriter:
        return PartitionWriter(
            self.connection, self.index_for(batch.time), self.fields, batch, self.conf["chunk_size"]
        )
