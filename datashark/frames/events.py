"""A DataFrame use case's events: read in its ``format``, timed, filtered, unparsed ones set aside.

``json``, ``csv``, ``parquet`` and ``text`` are read by Spark's own readers, in the JVM: a record
``from_json`` or the CSV reader cannot fit the schema lands in a corrupt-record column, and goes
to the dead letters instead of ``load()``. The toolkit's other formats (``zeek``, ``syslog``,
``grok``, ``regex``) are parsed by dataShark's parsers in Python, as the RDD flavour parses them,
and then become a DataFrame (of the conf's ``schema``, or one Spark infers from the events).

Events get ``@timestamp`` (a Spark timestamp) when the RDD flavour would give them one; with
``api = dataframe`` the time is read as ``auto``, ``iso8601``, ``epoch`` or ``epoch_ms``, and an
event without a readable time is a dead letter, as in the RDD flavour.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

from pyspark.sql import functions as sf
from pyspark.sql.types import StructField, StructType, TimestampType

from datashark import console
from datashark.frames.checkpoint import batch_files
from datashark.frames.log_filter import check_java_regexes, filter_condition, quoted
from datashark.frames.schema import event_schema

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession
    from pyspark.sql.types import DataType

    from datashark.config.usecase import UseCase
    from datashark.events.deadletter import DeadLetters
    from datashark.run.prepare import Prepared

CORRUPT = "_corrupt_record"
TIMESTAMP = "@timestamp"
RAW, REASON = "raw", "reason"  # the columns of the records set aside
# Read by Spark itself; the other formats go through dataShark's parsers.
SPARK_FORMATS = ("json", "csv", "parquet", "text")
FRAME_TIME_FORMATS = ("auto", "iso8601", "epoch", "epoch_ms")
NOT_JSON = "not JSON, or a value that does not fit the schema"
EPOCH_MS_ABOVE = 1e11  # auto: a number this large counts milliseconds (year 5138 in seconds)
EVERY_FILE_AGE = "36500d"
INFER_FROM_EVENTS = 1000  # the events a schema is inferred from, when the conf gives none
UNPARSED_COUNT = "unparsed"


@dataclass
class FrameEvents:
    """What ``load()`` gets (``events``) and the records that did not parse (``unparsed``: a
    DataFrame of ``raw``, ``reason`` and one column of the record, or None when the format
    cannot fail). ``counted``: the name of the metric counting them while ``events`` is read
    (see ``unparsed_seen``, and the streaming query's ``BatchDelivery``)."""

    events: DataFrame
    unparsed: DataFrame | None
    counted: str | None = None

    def unparsed_seen(self, findings: DataFrame | None) -> bool:
        """Whether records may not have parsed: False only when the count observed while
        ``findings`` (the DataFrame whose rows were delivered, every one) was computed says
        none did. Read from its executed plan, where Spark keeps the metric of a DataFrame
        read through ``.rdd`` too (an ``Observation`` is filled by DataFrame actions only)."""
        if self.unparsed is None:
            return False
        if self.counted is None or findings is None:
            return True
        found = observed_count(findings._jdf.queryExecution(), self.counted)
        return found is None or found > 0


def observed_count(execution, name: str) -> int | None:
    """The count metric ``name`` a query execution (a JVM ``QueryExecution``) observed; None
    when its plan does not observe it (the findings do not read the events: count unknown)."""
    found = execution.observedMetrics().get(name)
    if not found.isDefined():
        return None
    row = found.get()
    return None if row.isNullAt(0) else row.getLong(0)


def check_frame_conf(usecase: UseCase) -> None:
    """What a DataFrame use case's conf must say, checked before Spark starts (ConfigError)."""
    conf = usecase.conf
    where = usecase.location
    fmt = conf["format"]
    if usecase.type == "streaming":
        if fmt not in SPARK_FORMATS:
            raise where.at("format").error(
                f"a streaming DataFrame use case reads {', '.join(SPARK_FORMATS)}, not {fmt}: "
                "send Zeek's JSON logs (format = json), or use api = rdd"
            )
        # api = sigma over JSON: the fields its rules read (sigma.columns); Elasticsearch: the mapping's
        derived = (usecase.api == "sigma" and fmt == "json") or conf["input"] == "elasticsearch"
        if fmt != "text" and not conf["schema"] and not derived:
            raise where.at("schema").error(
                "is required by a streaming DataFrame use case (a stream's columns are fixed when it "
                "starts): Spark DDL such as 'ts DOUBLE, query STRING', or a schema file"
            )
    if conf["time_format"] not in (*FRAME_TIME_FORMATS, "none"):
        raise where.at("time_format").error(
            f"{conf['time_format']!r} is read by api = rdd only; with api = dataframe use "
            f"{', '.join(FRAME_TIME_FORMATS)}, or give the events a timestamp column in the schema"
        )


def spark_session(sc) -> SparkSession:
    """The SparkSession over dataShark's SparkContext (its own settings left as they are)."""
    from pyspark.sql import SparkSession

    return SparkSession.getActiveSession() or SparkSession(sc)


_CASE_SENSITIVE: dict[int, SparkSession] = {}


def usecase_session(sc, usecase: UseCase) -> SparkSession:
    """The session a use case's DataFrames belong to: ``spark_session``'s, or for ``api = sigma``
    a case-sensitive one of the same context (Windows events name a field ``SourceProcessGuid``
    in one event id and ``SourceProcessGUID`` in another, which a case-insensitive session cannot
    read as two columns; the rules' fields are matched without case by ``sigma.matching``), and
    one that compiles each projection on its own rather than whole stages."""
    spark = spark_session(sc)
    if usecase.api != "sigma":
        return spark
    key = id(spark.sparkContext)
    if key not in _CASE_SENSITIVE:
        session = spark.newSession()
        session.conf.set("spark.sql.caseSensitive", "true")
        # Hundreds of rule conditions in one stage outgrow the 64 KB of a Java method that
        # whole-stage code generation writes (Spark then logs the failure and interprets the
        # stage); each projection compiled on its own stays within it (bench/sigma_bench.py).
        session.conf.set("spark.sql.codegen.wholeStage", "false")
        _CASE_SENSITIVE[key] = session
    return _CASE_SENSITIVE[key]


def active_queries(sc) -> list:
    """The streaming queries running in every session of ``usecase_session``'s."""
    spark = spark_session(sc)
    sigma = _CASE_SENSITIVE.get(id(spark.sparkContext))
    sessions = [spark] if sigma is None else [spark, sigma]
    return [query for session in sessions for query in session.streams.active]


def file_events(
    spark: SparkSession, prepared: Prepared, location: str, dead_letters: DeadLetters
) -> FrameEvents:
    """The events of the files at ``location`` (a batch use case's ``file`` or ``training``)."""
    conf = prepared.usecase.conf
    fmt = conf["format"]
    schema = event_schema(prepared.usecase)
    if fmt not in SPARK_FORMATS:
        return _toolkit_events(spark, prepared, location, dead_letters, schema)
    reader = spark.read
    if fmt in ("json", "csv"):
        reader = reader.option("mode", "PERMISSIVE").option("columnNameOfCorruptRecord", CORRUPT)
    if fmt == "csv":
        reader = reader.option("header", conf["csv.header"])
        if schema is None:
            reader = reader.option("inferSchema", True)
    if schema is not None:
        reader = reader.schema(with_corrupt_column(schema) if fmt in ("json", "csv") else schema)
    return finish(reader.format(fmt).load(location), prepared, count=True)


def stream_frame(spark: SparkSession, usecase: UseCase, folder: str, **options: str | int) -> DataFrame:
    """A folder's new files as a streaming DataFrame of the use case's format, not yet finished
    (``options``: more of Spark's file source options, e.g. ``maxFilesPerTrigger``)."""
    conf = usecase.conf
    fmt = conf["format"]
    if fmt not in SPARK_FORMATS:
        raise usecase.location.at("format").error(
            f"a streaming DataFrame use case reads json, csv, parquet or text files, not {fmt}: "
            "send Zeek's JSON logs (format = json), or use api = rdd"
        )
    # Every file, however old: Spark's file source otherwise ignores one more than 7 days older
    # than the newest it has seen (a rotated log moved in).
    reader = _records_reader(spark.readStream, usecase).option("maxFileAge", EVERY_FILE_AGE)
    for key, value in options.items():
        reader = reader.option(key, value)
    return reader.format(fmt).load(folder)


def batch_files_frame(
    spark: SparkSession, usecase: UseCase, checkpoint: str, batch_id: int
) -> DataFrame | None:
    """The files one batch of a ``stream_frame`` query read (from its checkpoint), read again
    as it read them: when some of its records did not parse. None when it read no file."""
    paths = batch_files(spark.sparkContext, checkpoint, batch_id)
    if not paths:
        return None
    return _records_reader(spark.read, usecase).format(usecase.conf["format"]).load(paths)


def _records_reader(reader, usecase: UseCase):
    """``reader`` (a stream's or a batch's) set for the use case's format and schema, a record
    that does not fit put in the corrupt-record column."""
    conf = usecase.conf
    fmt = conf["format"]
    schema = _stream_schema(usecase, fmt)
    reader = reader.schema(with_corrupt_column(schema) if fmt in ("json", "csv") else schema)
    if fmt in ("json", "csv"):
        reader = reader.option("mode", "PERMISSIVE").option("columnNameOfCorruptRecord", CORRUPT)
    if fmt == "csv":
        reader = reader.option("header", conf["csv.header"])
    return reader


def value_frame(
    usecase: UseCase, messages: DataFrame, fields: list[str] | None = None, schema: StructType | None = None
) -> DataFrame:
    """Messages with a text ``value`` (Kafka's) parsed in the use case's format: ``json`` with
    ``from_json`` into ``schema`` (default: the conf's), ``text`` kept as ``value``. ``fields``:
    parse only these of the schema's (those ``load()`` reads; see ``datashark.frames.plan``)."""
    fmt = usecase.conf["format"]
    if fmt == "text":
        return messages.select(sf.col("value").cast("string").alias("value"))
    if fmt not in ("json", "zeek"):
        raise usecase.location.at("format").error(
            f"a DataFrame use case reads json or text messages from Kafka, not {fmt}"
        )
    schema = schema or _stream_schema(usecase, fmt)
    if fields is not None:
        schema = StructType([field for field in schema.fields if field.name in fields])
    options = {"mode": "PERMISSIVE", "columnNameOfCorruptRecord": CORRUPT}
    parsed = sf.from_json(sf.col("value").cast("string"), with_corrupt_column(schema), options)
    # A generator, not a projection: Spark would copy the parse into every filter pushed below
    # it, and parse each event once per condition.
    return messages.select(sf.inline(sf.array(parsed)))


def _stream_schema(usecase: UseCase, fmt: str) -> StructType:
    from pyspark.sql.types import StringType

    if fmt == "text":
        return StructType([StructField("value", StringType())])
    schema = event_schema(usecase)
    if schema is None:
        raise usecase.location.at("schema").error(
            "is required by a streaming DataFrame use case (a stream's columns are fixed when it starts): "
            "Spark DDL such as 'ts DOUBLE, query STRING', or a schema file"
        )
    return schema


def with_corrupt_column(schema: StructType) -> StructType:
    """``schema`` with the string column where Spark puts a record it could not parse."""
    from pyspark.sql.types import StringType

    if CORRUPT in schema.fieldNames():
        return schema
    return StructType([*schema.fields, StructField(CORRUPT, StringType())])


def finish(frame: DataFrame, prepared: Prepared, *, count: bool = False) -> FrameEvents:
    """Records as read -> events for ``load()`` (timed, filtered) and the unparsed ones;
    ``count``: observe how many did not parse while the events are read (a second pass over the
    input for the unparsed ones then costs only when there are some)."""
    usecase = prepared.usecase
    check_java_regexes(prepared.log_filter, usecase.location, frame.sparkSession.sparkContext._jvm)
    time = event_time_column(frame, prepared)
    if time is not None:
        frame = frame.withColumn(TIMESTAMP, time)
    problems = []
    if CORRUPT in frame.columns:
        problems.append((sf.col(CORRUPT).isNotNull(), sf.lit(NOT_JSON), sf.col(CORRUPT)))
    if time is not None:
        fields = ", ".join(prepared.parser.time.fields if prepared.parser.time else ())
        whole = sf.to_json(sf.struct(*[sf.col(quoted(name)) for name in frame.columns if name != CORRUPT]))
        problems.append((sf.col(quoted(TIMESTAMP)).isNull(), sf.lit(f"no readable time in {fields}"), whole))
    unparsed = None
    counted = None
    events = frame
    if problems:
        bad: Column = problems[0][0]
        for condition, _, _ in problems[1:]:
            bad = bad | condition
        reason = sf.when(problems[0][0], problems[0][1])
        raw = sf.when(problems[0][0], problems[0][2])
        for condition, text, record in problems[1:]:
            reason = reason.when(condition, text)
            raw = raw.when(condition, record)
        # Spark refuses a read of JSON files whose only column used is the corrupt one: one more.
        other = next(name for name in frame.columns if name != CORRUPT)
        unparsed = frame.filter(bad).select(raw.alias(RAW), reason.alias(REASON), sf.col(quoted(other)))
        if count:
            counted = f"{UNPARSED_COUNT}-{uuid.uuid4().hex}"
            frame = frame.observe(counted, sf.count(sf.when(bad, 1)).alias(UNPARSED_COUNT))
        events = frame.filter(~bad)
    if CORRUPT in events.columns:
        events = events.drop(CORRUPT)
    kept = filter_condition(prepared.log_filter, events, usecase.location, warn=_warn_once)
    if kept is not None:
        events = events.filter(kept)
    return FrameEvents(events, unparsed, counted)


def event_time_column(frame: DataFrame, prepared: Prepared) -> Column | None:
    """``@timestamp`` from the first of the time fields the events have, None when the use case
    reads no time (its RDD flavour would give its events none)."""
    from pyspark.sql.types import NumericType, TimestampNTZType, TimestampType

    time = prepared.parser.time
    if time is None or (TIMESTAMP in frame.columns and time.fields == (TIMESTAMP,)):
        return None
    where = prepared.usecase.location  # its time_format was checked by check_frame_conf
    types = {field.name: field.dataType for field in frame.schema.fields}
    present = [name for name in time.fields if name in types]
    if not present:
        if time.required:
            raise where.at("time_field").error(
                f"names {', '.join(time.fields)}, which the events' columns do not include "
                f"({', '.join(types)})"
            )
        return None
    name = present[0]
    column, kind = sf.col(quoted(name)), types[name]
    if isinstance(kind, (TimestampType, TimestampNTZType)):
        return column.cast("timestamp")
    if isinstance(kind, NumericType) or time.format in ("epoch", "epoch_ms"):
        number = column.cast("double")
        if time.format == "epoch_ms":
            return sf.timestamp_millis(number.cast("long"))
        if time.format == "auto":  # as the RDD flavour guesses: milliseconds when that large
            number = sf.when(sf.abs(number) > EPOCH_MS_ABOVE, number / 1000).otherwise(number)
        return sf.timestamp_seconds(number)
    return sf.try_to_timestamp(column.cast("string"))


_WARNED: set[str] = set()


def _warn_once(text: str) -> None:
    line = f"[!] {text}"
    if line not in _WARNED:
        _WARNED.add(line)
        console.to_stderr(line)


def _toolkit_events(
    spark: SparkSession,
    prepared: Prepared,
    location: str,
    dead_letters: DeadLetters,
    schema: StructType | None,
) -> FrameEvents:
    """Formats only dataShark parses (``zeek``, ``syslog``...): its event stage, as the RDD flavour
    runs it (parsed, timed, filtered, dead letters stored), then a DataFrame of the events."""
    from datashark.run.batch import records_of
    from datashark.run.delivery import events_for_load

    sc = spark.sparkContext
    dicts = events_for_load(
        prepared, records_of(sc, location, prepared.parser.format), dead_letters, stage="input", filtered=True
    )
    if schema is None:
        sample = dicts.take(INFER_FROM_EVENTS)
        if not sample:
            raise prepared.usecase.location.at("schema").error(
                "is needed: there is no event to infer the columns from"
            )
        schema = inferred_schema(spark, sample)
    elif prepared.parser.time is not None and TIMESTAMP not in schema.fieldNames():
        schema = StructType([*schema.fields, StructField(TIMESTAMP, TimestampType())])
    rows = dicts.mapPartitions(ColumnValues(schema, dead_letters))
    return FrameEvents(spark.createDataFrame(rows, schema, verifySchema=False), None)


def inferred_schema(spark: SparkSession, sample: list[dict]) -> StructType:
    """The columns of ``sample``'s events, each typed by Spark from one value the events give it:
    the first that is set (a float rather than an int, when both are), so a field some events
    leave out or no sampled event sets (Zeek's ``-``, an empty set) is typed as text."""
    names = list(dict.fromkeys(name for event in sample for name in event))
    typical = {name: _typical([event.get(name) for event in sample]) for name in names}
    return spark.createDataFrame([typical]).schema


def _typical(values: list) -> object:
    """The value a column is typed from: see ``inferred_schema``."""
    present = [value for value in values if value is not None and value != [] and value != {}]
    if not present:
        return [""] if any(isinstance(value, list) for value in values) else ""
    floats = [value for value in present if isinstance(value, float)]
    return floats[0] if floats and all(isinstance(v, (int, float)) for v in present) else present[0]


class ColumnValues:
    """mapPartitions function: event dicts as rows of the schema's columns (None for a field an
    event lacks); an event with a value its column's type cannot hold is a dead letter, as
    ``from_json`` sets such a record aside, instead of failing the batch."""

    def __init__(self, schema: StructType, dead_letters: DeadLetters) -> None:
        self.columns = [(field.name, _accepts(field.dataType)) for field in schema.fields]
        self.dead_letters = dead_letters

    def __call__(self, events: Iterable[dict]) -> Iterator[tuple]:
        for event in events:
            row = tuple(event.get(name) for name, _ in self.columns)
            wrong = [
                name
                for (name, accepts), value in zip(self.columns, row, strict=True)
                if value is not None and not accepts(value)
            ]
            if not wrong:
                yield row
                continue
            kind = type(event[wrong[0]]).__name__
            self.dead_letters.add("input", f"{wrong[0]}: a {kind} value does not fit the schema", repr(event))


def _accepts(data_type: DataType) -> Callable[[object], bool]:
    """Whether a Python value fits a column of ``data_type`` (what Spark would refuse a row for)."""
    from pyspark.sql import types

    if isinstance(data_type, (types.ByteType, types.ShortType, types.IntegerType, types.LongType)):
        return lambda value: isinstance(value, int) and not isinstance(value, bool)
    if isinstance(data_type, (types.FloatType, types.DoubleType, types.DecimalType)):
        return lambda value: isinstance(value, (int, float)) and not isinstance(value, bool)
    if isinstance(data_type, types.StringType):
        return lambda value: isinstance(value, str)
    if isinstance(data_type, types.BooleanType):
        return lambda value: isinstance(value, bool)
    if isinstance(data_type, (types.TimestampType, types.TimestampNTZType)):
        return lambda value: isinstance(value, datetime)
    if isinstance(data_type, types.DateType):
        return lambda value: isinstance(value, date)
    if isinstance(data_type, types.ArrayType):
        item = _accepts(data_type.elementType)
        return lambda value: isinstance(value, (list, tuple)) and all(v is None or item(v) for v in value)
    return lambda value: True
