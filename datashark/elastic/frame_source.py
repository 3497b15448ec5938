"""The Elasticsearch stream of a DataFrame use case: a Spark Python data source whose offsets
are the upper bounds of ``time_field`` intervals (``datashark.elastic.cursor`` says how they are
cut). Structured Streaming writes each batch's bound into the query's offset log before the
batch runs and commits it after its outputs succeeded, so a restart reads again exactly the
batch in flight: at least once, as the Kafka source.

Spark hands a data source its options as strings; the connection travels as JSON in the option
``secret.connection``, whose name Spark's redaction (``spark.redaction.regex``) blanks out of
plans, the UI and event logs. Offsets hold only times: nothing secret reaches the checkpoint.
Each batch opens a point in time over its interval on the driver; the executors read its
slices (``datashark.elastic.search``), and the commit of the batch closes it.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Iterator
from typing import Any

from pyspark.sql.datasource import DataSource, DataSourceStreamReader, InputPartition

from datashark.elastic.connection import Connection
from datashark.elastic.cursor import Pacing, between, capped_upper
from datashark.elastic.search import Search, SliceReader, close_point_in_time, open_point_in_time

SOURCE_NAME = "datashark_elasticsearch"
SECRET_OPTION = "secret.connection"  # "secret": Spark redacts the option wherever it shows options


def source_options(search: Search, time_field: str, pacing: Pacing) -> dict[str, str]:
    """The options that make this source read ``search`` by ``time_field`` as ``pacing`` says."""
    connection = dataclasses.asdict(search.connection)
    reading = dataclasses.asdict(dataclasses.replace(search, connection=None))  # type: ignore[arg-type]
    return {
        SECRET_OPTION: json.dumps(connection),
        "search": json.dumps(reading),
        "time_field": time_field,
        "start": str(pacing.start),
        "delay": str(pacing.delay),
        "max_documents": str(pacing.max_documents),
    }


def _search_of(options: Any) -> Search:
    connection = json.loads(options[SECRET_OPTION])
    connection["hosts"] = tuple(connection["hosts"])
    if connection["basic_auth"] is not None:
        connection["basic_auth"] = tuple(connection["basic_auth"])
    reading = json.loads(options["search"])
    for name in ("fields", "arrays"):
        reading[name] = tuple(reading[name]) if reading[name] is not None else None
    reading["arrays"] = reading["arrays"] or ()
    return Search(**{**reading, "connection": Connection(**connection)})


class ElasticsearchStream(DataSource):
    """``spark.readStream.format("datashark_elasticsearch")``: rows of one string, ``value``,
    each a document's ``_source`` as JSON text."""

    @classmethod
    def name(cls) -> str:
        return SOURCE_NAME

    def schema(self) -> str:
        return "value string"

    def streamReader(self, schema) -> DataSourceStreamReader:  # noqa: N802
        return IntervalReader(self.options)


class Slice(InputPartition):
    """One slice of a batch's point in time: one Spark partition."""

    def __init__(self, pit: str, lower: int, upper: int, slice_id: int) -> None:
        super().__init__(slice_id)
        self.pit, self.lower, self.upper, self.slice_id = pit, lower, upper, slice_id


class IntervalReader(DataSourceStreamReader):
    """Offsets ``{"upper": ms}``: a batch reads ``time_field`` in ``(start's upper, end's upper]``."""

    def __init__(self, options: Any) -> None:
        self.search = _search_of(options)
        self.time_field = options["time_field"]
        self.start = int(options["start"])
        self.delay = int(options["delay"])
        self.max_documents = int(options["max_documents"])
        self.pits: dict[int, str] = {}  # a batch's upper bound -> the PIT its slices read
        self.last = self.start

    def initialOffset(self) -> dict:  # noqa: N802
        return {"upper": self.start}

    def latestOffset(self, start: dict | None = None, limit: Any = None) -> dict:  # noqa: N802
        lower = int(start["upper"]) if start is not None else self.last
        upper = max(lower, round(time.time() * 1000) - self.delay)
        self.last = capped_upper(lower, upper, self._count, self.max_documents)
        return {"upper": self.last}

    def partitions(self, start: dict, end: dict) -> list[InputPartition]:
        lower, upper = int(start["upper"]), int(end["upper"])
        if upper <= lower or not self._count(lower, upper):
            return []
        pit = self.pits.get(upper) or open_point_in_time(self._between(lower, upper))
        self.pits[upper] = pit
        return [Slice(pit, lower, upper, slice_id) for slice_id in range(self.search.slices)]

    def read(self, partition: InputPartition) -> Iterator[tuple[str]]:
        assert isinstance(partition, Slice)
        reader = SliceReader(self._between(partition.lower, partition.upper), partition.pit)
        for text in reader([partition.slice_id]):
            yield (text,)

    def commit(self, end: dict) -> None:
        """The batch up to ``end`` was delivered: its point in time (and older ones) closed."""
        done = [upper for upper in self.pits if upper <= int(end["upper"])]
        for upper in done:
            close_point_in_time(self.search, self.pits.pop(upper))

    def stop(self) -> None:
        for pit in self.pits.values():
            close_point_in_time(self.search, pit)
        self.pits = {}

    def _between(self, lower: int, upper: int) -> Search:
        return self.search.narrowed(between(self.time_field, lower, upper))

    def _count(self, lower: int, upper: int) -> int:
        return self._between(lower, upper).count()
