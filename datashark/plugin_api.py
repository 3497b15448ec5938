"""What plugins are written against: the base classes of input and output plugins, the batch an
output writes, and ``debug_print`` for what a ``debug`` output shows.

A home's plugins import these from ``datashark.plugins`` (and ``datashark.documents``), which
re-export them; ``datashark.loading.plugin_loader`` finds plugins by name.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyspark import RDD, SparkContext
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.streaming import DStream, StreamingContext

    from datashark.config.settings import Settings
    from datashark.config.usecase import UseCase
    from datashark.events.deadletter import DeadLetters
    from datashark.events.readers import Reader, ReaderOptions


@dataclass(frozen=True)
class OutputBatch:
    """The batch of results an output plugin writes: its time and its use case's dead-letter store.

    Picklable, so partition writers on the executors get it too (and may dead-letter rows
    their sink rejects: ``batch.dead_letters.add("output", reason, row)``).
    """

    time: datetime  # local wall-clock time: Spark's batch time, or the start of a batch run
    dead_letters: DeadLetters

    @property
    def timestamp(self) -> str:
        """Local time as every console line and CSV row shows it."""
        return self.time.strftime("%Y-%m-%d %H:%M:%S")

    @property
    def utc_iso(self) -> str:
        """ISO-8601 UTC, as ``@timestamp`` of documents (Elasticsearch, syslog, Parquet)."""
        return self.time.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


class OutputPlugin:
    """Base of dataShark's output plugins.

    Subclasses set ``CONFIGSPEC`` (configspec lines for their ``[out_<name>]`` section, which
    always has ``title`` and ``debug``) and say where rows go in ``destination``. A plugin for a
    network sink implements ``partition_writer``: the returned function runs on the executors,
    one call per partition, with one connection each, and returns how many rows it wrote;
    ``write`` sums the counts. A plugin that must write on the driver (one local file)
    overrides ``write`` instead. Delivery prints the Written line, so every plugin reports alike.
    ``start`` runs once before the first batch, for a sink that needs setting up.
    A ``write`` that returns None has printed its own report, and no Written line is printed
    (``LegacyOutput``: the original's plugins print their own lines).
    """

    CONFIGSPEC: tuple[str, ...] = ()
    COMMON_SPEC: tuple[str, ...] = ("title = string(default=None)", "debug = boolean(default=False)")

    def __init__(self, conf: dict[str, Any], usecase: UseCase) -> None:
        self.conf = conf
        self.usecase = usecase
        self.title: str = conf["title"] or usecase.name
        self.debug: bool = conf["debug"]
        # The plugin's section, for its errors: self.location.at("path").error("...")
        self.location = usecase.location.section(f"out_{usecase.output}")

    @property
    def destination(self) -> str:
        """Where the rows go, for the Written line, e.g. ``CSV File /tmp/x.csv``."""
        raise NotImplementedError

    def start(self) -> None:
        """On the driver, once, before the use case's first batch is read (not in debug runs):
        where a plugin prepares its sink, so that a wrong address or login stops the start
        instead of the first batch, after events were read."""

    def partition_writer(self, batch: OutputBatch) -> Callable[[Iterator[tuple]], int]:
        """A picklable function writing one partition's rows; returns how many it wrote."""
        raise NotImplementedError

    def write(self, rdd: RDD, batch: OutputBatch) -> int | None:
        """Deliver every row of ``rdd`` from the executors; returns how many were written."""
        return rdd.mapPartitions(_counted(self.partition_writer(batch))).sum()


# What must not reach a terminal raw: C0 controls but tab (ANSI escapes start with \x1b, a newline
# would forge a line), DEL, C1 controls (\x9b is an 8-bit CSI), Unicode line separators, bidi
# overrides and isolates (text that reads other than it is), lone surrogates (no encoding takes them).
UNPRINTABLE = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
ESCAPES = {"\n": "\\n", "\r": "\\r"}


def printable(text: str) -> str:
    """``text`` with what a terminal would act on escaped: ``\\n``, ``\\x1b``, ``\\u202e``."""
    return UNPRINTABLE.sub(lambda found: ESCAPES.get(found[0]) or _escape(found[0]), text)


def _escape(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def debug_print(text: str) -> None:
    """Prints what a ``debug`` output sends, from wherever it runs, as one line: control characters
    inside it are escaped (``printable``), so a row cannot move the cursor, recolour the terminal or
    forge a line. One ``write`` per call: Python workers share Spark's stderr pipe, and ``print``
    writes the text and its newline apart, so two workers' lines would interleave."""
    sys.stdout.write(printable(text.removesuffix("\n")) + "\n")
    sys.stdout.flush()


def _counted(write_partition: Callable[[Iterator[tuple]], int]) -> Callable[[Iterable[Any]], list[int]]:
    def count_of_partition(rows: Iterable[Any]) -> list[int]:
        return [write_partition(iter(rows))]

    return count_of_partition


class InputPlugin:
    """Base of input plugins: builds the DStream a streaming use case reads, and for an input
    that ``READS_BATCHES``, what a batch use case reads (``batch_records``, ``batch_frame``).

    Two use cases whose input is configured identically share one stream (see ``key``).
    Inputs that can replay (Kafka) learn through the ``batch_*`` hooks which batches each
    use case delivered, to acknowledge only those; the defaults do nothing.
    """

    CONFIGSPEC: tuple[str, ...] = ()
    READS_STREAMS = True  # streaming use cases may name it (``stream``, ``frames``)
    READS_BATCHES = False  # batch use cases may name it instead of a ``file``
    # False when the stream may also carry ``bytes`` (a message that is not text), which the
    # use case's event stage turns into a dead letter.
    TEXT_ONLY = True
    # True when ``frames()`` parses messages itself (``frames.events.value_frame``) and can
    # parse only the ``fields`` a DataFrame use case reads (see ``frames.plan``).
    PARSES_MESSAGES = False

    def __init__(self, conf: dict[str, Any], usecase: UseCase, settings: Settings) -> None:
        self.conf = conf
        self.usecase = usecase

    @property
    def description(self) -> str:
        """What is read, for the ``+ Input Module:`` line, e.g. ``File /var/log/in``."""
        raise NotImplementedError

    @property
    def key(self) -> tuple:
        """Equal for inputs that read the same events."""
        return (type(self).__module__, self.description)

    def stream(self, ssc: StreamingContext) -> DStream:
        """A DStream of event lines (text)."""
        raise NotImplementedError

    def frames(self, spark: SparkSession, fields: list[str] | None = None) -> DataFrame:
        """For a streaming DataFrame use case (``api = dataframe``): a streaming DataFrame of
        this input's records in the use case's ``format``, as read (``datashark.frames.events``
        times and filters them). ``fields``: the only fields of the schema ``load()`` reads,
        given to an input that ``PARSES_MESSAGES`` (None: every field). Inputs without a
        DataFrame source refuse such a use case at start."""
        raise self.usecase.location.at("input").error(
            f"input {self.usecase.conf['input']} has no DataFrame source: use api = rdd"
        )

    def event_reader(self) -> Callable[[ReaderOptions], Reader] | None:
        """How this input's records become the use case's events when they are not lines of its
        ``format`` (``input = syslog`` wraps each syslog message in a JSON record): a factory of
        the reader (run on the driver, checked there). None: the format's own reader."""
        return None

    def batch_records(self, sc: SparkContext) -> RDD:
        """For a batch use case (``READS_BATCHES``): this input's records as of now, as text
        of the use case's ``format``, for the event stage (as a ``file``'s lines are)."""
        raise NotImplementedError

    def batch_frame(self, spark: SparkSession) -> DataFrame:
        """For a batch DataFrame use case (``READS_BATCHES``): this input's records as of now,
        as read (``datashark.frames.events.finish`` times and filters them)."""
        raise NotImplementedError

    def frames_batch(self, spark: SparkSession, checkpoint: str, batch_id: int) -> DataFrame | None:
        """The records batch ``batch_id`` of the query checkpointed at ``checkpoint`` read, read
        again as ``frames()`` gave them: to set aside the ones that did not parse, when the
        batch counted some. None: this input cannot (their count is reported instead)."""
        return None

    def frames_delivered(self, offsets: str) -> None:
        """A DataFrame use case delivered a batch that read up to ``offsets``: this source's
        end offsets as Spark's checkpoint records them (JSON)."""

    def batch_time(self, batch_time: datetime) -> datetime:
        """The time outputs write for the batch of ``batch_time``: an input replaying a batch
        a killed run had cut gives its first time, so the replayed rows are the same rows."""
        return batch_time

    def track(self, consumer: str) -> None:
        """Use case ``consumer`` will deliver this stream's batches (not called in debug runs)."""

    def batch_generated(self, consumer: str, batch_time: datetime) -> None:
        """Spark generated ``consumer``'s output job of ``batch_time``: it will deliver that
        batch. Called on the driver before any job of a later batch runs."""

    def batch_delivered(self, consumer: str, batch_time: datetime) -> None:
        """``consumer`` delivered the batch of ``batch_time`` (and so every earlier one)."""

    def batch_failed(self, consumer: str, batch_time: datetime) -> None:
        """``consumer`` failed to deliver the batch of ``batch_time``; the stream will stop."""

    def stop_reading(self) -> None:
        """The stream is stopping: later batches should read nothing new, so the stop waits for
        the batches already cut, not for more (their events are read at the next start)."""

    def close(self) -> None:
        """The stream has stopped, or the batch use case is done: release connections."""
