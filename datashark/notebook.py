"""Findings as pandas, for Jupyter: a use case's table in a notebook, as zat and HELK work.

``notebook.run("conf/x/x.conf")`` runs a batch use case (``api = rdd`` or ``dataframe``) and
returns its findings as a pandas DataFrame: columns ``key``, ``score`` (a float), then one column
per metadata field. ``notebook.stream("conf/y/y.conf")`` starts a streaming DataFrame use case
into a live table the analyst queries while it runs (``live.table()``), until ``live.stop()``.

Both read the conf as the commands do (every check, the dead letters), but deliver to the
notebook instead of the use case's ``output``. Spark is the notebook's own SparkContext when it
has one; else one is started on ``local[*]`` at the first call and kept for the next ones, until
``notebook.stop()``.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from datashark.config.settings import Settings, datashark_home, load_settings
from datashark.config.usecase import UseCase, read_usecase
from datashark.errors import ConfigError, DataSharkError, UseCaseError
from datashark.events.deadletter import dead_letters_for
from datashark.events.records import ValidRows, metadata_of
from datashark.frames.batch import batch_findings, set_aside_unparsed
from datashark.frames.findings import KEY, METADATA, SCORE, finding_columns, finding_rows
from datashark.plugin_api import OutputBatch, OutputPlugin
from datashark.run.batch import run_batch
from datashark.run.context import RunContext
from datashark.run.delivery import report_dead_letters
from datashark.run.failures import UseCaseFailedError, usecase_failure
from datashark.run.prepare import Prepared, prepare
from datashark.run.spark import start_spark

if TYPE_CHECKING:
    import pandas
    from pyspark import RDD, SparkContext
    from pyspark.sql import Column, DataFrame, SparkSession
    from pyspark.sql.streaming import StreamingQuery

LOCAL_MASTER = "local[*]"
APP_NAME = "dataShark Notebook"
ARROW = "spark.sql.execution.arrow.pyspark.enabled"

# The SparkContext this module started (None while it started none), and the live tables running.
_started: SparkContext | None = None
_live: list[LiveTable] = []


def run(conf: str | Path, *, spark: SparkSession | SparkContext | None = None) -> pandas.DataFrame:
    """The findings of the batch use case ``conf`` as a pandas DataFrame: ``key``, ``score``,
    then one column per metadata field (an ``api = dataframe`` use case's columns keep their
    Spark types; a single struct or map column ``metadata`` is spread into its fields).

    ``conf`` is a path; a relative one is looked for in the current folder, then in the dataShark
    home (``$DATASHARK_HOME``, else this checkout). ``spark``: the SparkSession or SparkContext to
    run on; default the active one, else one this module starts (see ``stop``). The use case's
    ``output`` is not called: its rows come here. Rows an output would refuse (a NULL key, a
    score that is no number) and events that do not parse go to the dead letters, reported as
    ``./standalone.sh -d`` reports them. A wrong conf raises ConfigError, a failing use case
    UseCaseError, each with its one-line message.
    """
    settings = load_settings()
    usecase = read_usecase(conf_path(conf))
    if usecase.type != "batch":
        raise usecase.location.at("type").error(
            f"is {usecase.type}: notebook.run runs batch use cases; notebook.stream gives a "
            "streaming DataFrame use case's live table"
        )
    prepared = prepare(settings, usecase)
    sc = spark_context(spark, settings)
    try:
        if usecase.reads_frames:
            return _frame_table(sc, RunContext(settings), prepared)
        return _rdd_table(sc, RunContext(settings), prepared)
    except UseCaseError as err:
        raise _shown(err) from None


def stream(conf: str | Path, *, spark: SparkSession | SparkContext | None = None) -> LiveTable:
    """Start the streaming DataFrame use case ``conf`` (``type = streaming``, ``api = dataframe``)
    into a live table: Spark's memory sink, one micro-batch every ``batch.interval`` seconds of
    datashark.conf, in the conf's ``output.mode``. Query it with ``live.table()``; stop it with
    ``live.stop()`` (or use it as a context manager: ``with notebook.stream(...) as live:``).

    This is a notebook's look at a stream, not the production stream: it keeps its checkpoint in
    a temporary folder removed at stop, so it reads its input from the start each time and moves
    nothing on (files seen, Kafka offsets committed) for ``./start.sh``; its output is not called,
    and records that do not parse are left out of the table without a dead letter; the table lives
    in the driver's memory (keep it small: an aggregation, as the zat notebook does). ``conf`` and
    ``spark`` as for ``run``.
    """
    settings = load_settings()
    usecase = read_usecase(conf_path(conf))
    if not usecase.reads_frames:
        raise usecase.location.at("api").error(
            f"is {usecase.api}: a live table needs api = dataframe (a Structured Streaming query); "
            "an RDD use case's stream runs with ./standalone.sh"
        )
    if usecase.type != "streaming":
        raise usecase.location.at("type").error(
            f"is {usecase.type}: notebook.stream needs type = streaming; notebook.run runs a batch use case"
        )
    scratch = Path(tempfile.mkdtemp(prefix="datashark-live-"))
    try:
        # The notebook's own state: never the production stream's checkpoint.dir.
        local = dataclasses.replace(settings, checkpoint_dir=str(scratch / "state"))
        prepared = prepare(local, usecase)
        sc = spark_context(spark, settings)
        live = _start_live(sc, RunContext(local), prepared, scratch)
    except BaseException as err:
        shutil.rmtree(scratch, ignore_errors=True)
        if isinstance(err, UseCaseError):
            raise _shown(err) from None
        raise
    _live.append(live)
    return live


def stop() -> None:
    """Stop the live tables still running, then the SparkContext this module started (one the
    notebook started itself is left to it)."""
    global _started
    for live in list(_live):
        live.stop()
    if _started is not None:
        _started.stop()
        _started = None


def conf_path(conf: str | Path) -> Path:
    """Where the use-case conf ``conf`` is: as given when absolute; a relative one in the current
    folder, else in the dataShark home. ConfigError when neither has it."""
    path = Path(conf).expanduser()
    if path.is_absolute():
        return path
    bases = list(dict.fromkeys([Path.cwd(), datashark_home()]))
    for base in bases:
        if (base / path).is_file():
            return base / path
    raise ConfigError(f"{conf}: file not found in {' nor in '.join(str(base) for base in bases)}")


def spark_context(spark: SparkSession | SparkContext | None, settings: Settings) -> SparkContext:
    """The SparkContext to run on: ``spark``'s, the active one, or one started (and kept) here."""
    global _started
    from pyspark import SparkContext

    if isinstance(spark, SparkContext):
        return spark
    if spark is not None:
        return spark.sparkContext

    active = SparkContext._active_spark_context
    if active is not None:
        return active
    _started = start_spark(settings, LOCAL_MASTER, APP_NAME)
    return _started


def _shown(err: UseCaseError) -> UseCaseError:
    """``err`` as a notebook shows it: its one line, and the lines of the use case's own code it
    went through as notes below it (a JVM stack is not for the analyst)."""
    add_note = getattr(err, "add_note", None)  # Python 3.11+
    if isinstance(err, UseCaseFailedError) and add_note is not None:
        for line in err.frames:
            add_note(f"    at {line}")
    return err


class _ToNotebook(OutputPlugin):
    """The output of a use case run by ``notebook.run``: its valid rows, brought to the driver."""

    def __init__(self, usecase: UseCase) -> None:
        super().__init__({"title": None, "debug": False}, usecase)
        self.rows: list[Any] = []

    @property
    def destination(self) -> str:
        return "the notebook"

    def write(self, rdd: RDD, batch: OutputBatch) -> int | None:
        self.rows = rdd.collect()
        return None  # no Written line: the dead letters are reported as -d reports them


def _rdd_table(sc, run: RunContext, prepared: Prepared) -> pandas.DataFrame:
    """An ``api = rdd`` use case's findings, run as ``./standalone.sh`` runs it with the
    notebook as its output (which gets the rows the dead letters did not)."""
    output = _ToNotebook(prepared.usecase)
    run_batch(sc, run, dataclasses.replace(prepared, plugin=output), debug=False)
    return rows_table(output.rows)


def rows_table(rows: list[Any]) -> pandas.DataFrame:
    """``(key, score[, metadata])`` rows as a table: ``key``, ``score`` as a float, then the
    metadata fields in the order they first appear (missing ones empty). A field named ``key``
    or ``score`` is left out, as documents leave it out."""
    import pandas

    names = list(dict.fromkeys(name for row in rows for name in metadata_of(row) if name not in (KEY, SCORE)))
    records = [(row[0], float(row[1]), *(metadata_of(row).get(name) for name in names)) for row in rows]
    return pandas.DataFrame.from_records(records, columns=[KEY, SCORE, *names])


def _frame_table(sc, run: RunContext, prepared: Prepared) -> pandas.DataFrame:
    """An ``api = dataframe`` use case's findings, converted by Arrow with their Spark types."""
    usecase = prepared.usecase
    dead_letters = dead_letters_for(sc, run.settings, usecase)
    try:
        result, read = batch_findings(sc, run, prepared, dead_letters)
        findings = finding_columns(result).persist()
        try:
            valid = valid_finding(findings)
            refused = findings.filter(~valid)
            # Every refused row is a dead letter, with the reason an output would give.
            finding_rows(refused).mapPartitions(ValidRows(dead_letters)).count()
            table = to_pandas(flat_columns(findings.filter(valid)))
        finally:
            findings.unpersist()
        set_aside_unparsed(read, None, dead_letters)  # the table was read from a cache
    except ConfigError:
        raise
    except Exception as err:  # anything from the user's code or Spark fails this use case only
        raise usecase_failure(usecase, err) from err
    finally:
        prepared.lookups.stop()
    report_dead_letters(prepared, dead_letters)
    return table


def valid_finding(findings: DataFrame) -> Column:
    """The findings (``finding_columns``) every output writes: a key, and a finite score."""
    from pyspark.sql import functions as sf

    score = sf.col(SCORE)
    return (
        sf.col(KEY).isNotNull()
        & score.isNotNull()
        & ~sf.isnan(score)
        & (sf.abs(score) != sf.lit(float("inf")))
    )


def flat_columns(findings: DataFrame) -> DataFrame:
    """``key``, ``score``, then one column per metadata field: a lone struct or map column
    ``metadata`` is spread into its fields (a map's keys sorted), other columns stay.
    A field named ``key`` or ``score`` is left out."""
    from pyspark.sql import functions as sf
    from pyspark.sql.types import MapType, StructType

    others = [field for field in findings.schema.fields if field.name not in (KEY, SCORE)]
    if len(others) != 1 or others[0].name != METADATA:
        return findings
    kind = others[0].dataType
    if isinstance(kind, StructType):
        names = [name for name in kind.fieldNames() if name not in (KEY, SCORE)]
    elif isinstance(kind, MapType):
        keys = findings.select(sf.explode(sf.map_keys(sf.col(METADATA)))).distinct().collect()
        names = sorted(str(row[0]) for row in keys if row[0] not in (KEY, SCORE))
    else:
        return findings
    fields = [sf.col(METADATA).getField(name).alias(name) for name in names]
    return findings.select(KEY, SCORE, *fields)


def to_pandas(frame: DataFrame) -> pandas.DataFrame:
    """``frame.toPandas()`` through Arrow (columnar, Spark's types kept); the session's own
    setting is put back after."""
    settings = frame.sparkSession.conf
    previous = settings.get(ARROW, "false") or "false"
    settings.set(ARROW, "true")
    try:
        return frame.toPandas()
    finally:
        settings.set(ARROW, previous)


def _start_live(sc, run: RunContext, prepared: Prepared, scratch: Path) -> LiveTable:
    """The use case's findings query into the memory sink, its checkpoint in ``scratch``."""
    from datashark.frames.streaming import output_mode, streaming_findings

    usecase = prepared.usecase
    try:
        findings = streaming_findings(sc, run, prepared)
        name = table_name(findings.sparkSession, usecase.name)
        query = (
            findings.writeStream.format("memory")
            .queryName(name)
            .outputMode(output_mode(prepared))
            .trigger(processingTime=f"{run.settings.batch_interval} seconds")
            .option("checkpointLocation", str(scratch / "query"))
            .start()
        )
    except DataSharkError:
        raise
    except Exception as err:  # load(), or Spark refusing the query (an output mode it cannot do)
        raise usecase_failure(usecase, err) from err
    return LiveTable(findings.sparkSession, query, name, scratch, prepared)


def table_name(spark: SparkSession, usecase_name: str) -> str:
    """A SQL name for the use case's live table (``DNS Counts`` -> ``dns_counts``), numbered when
    a running query already has it."""
    base = re.sub(r"[^0-9a-z_]+", "_", usecase_name.lower()).strip("_") or "findings"
    if base[0].isdigit():
        base = f"uc_{base}"
    taken = {query.name for query in spark.streams.active}
    name, number = base, 2
    while name in taken:
        name, number = f"{base}_{number}", number + 1
    return name


class LiveTable:
    """A streaming DataFrame use case running into a table in the driver's memory (``stream``).

    ``table()`` is the table now, as pandas (it stays readable after ``stop()``); ``status`` is
    the query's status; ``catch_up()`` waits until what its input holds now is in the table.
    """

    def __init__(
        self, spark: SparkSession, query: StreamingQuery, name: str, scratch: Path, prepared: Prepared
    ) -> None:
        self.spark = spark
        self.query = query
        self.name = name  # the table's SQL name: spark.sql(f"SELECT ... FROM {live.name}")
        self.scratch = scratch
        self.prepared = prepared

    @property
    def status(self) -> dict[str, Any]:
        """The query's status (``message``, ``isDataAvailable``, ``isTriggerActive``) and
        whether it is running (``isActive``)."""
        return {**self.query.status, "isActive": self.query.isActive}

    def table(self) -> pandas.DataFrame:
        """The live table now: ``key``, ``score``, then the metadata columns. UseCaseError when
        the query stopped with an error."""
        self._raise_failure()
        return to_pandas(flat_columns(self.spark.sql(f"SELECT * FROM `{self.name}`")))

    def catch_up(self) -> None:
        """Wait until every record the input holds now has gone through (Spark's
        ``processAllAvailable``); UseCaseError when the query fails meanwhile.

        Spark's wait ends at the first trigger that finds no new data, which may be one that
        looked at the input just before the records arrived; waiting twice ends only at a
        trigger that looked after (one more trigger interval at most).
        """
        try:
            for _ in range(2):
                self.query.processAllAvailable()
        except Exception:  # the query's failure, with its JVM stack
            self._raise_failure()
            raise

    def stop(self) -> None:
        """Stop the query (Spark waits for its stream to end), forget its temporary checkpoint.
        The table stays readable; calling it again does nothing."""
        try:
            if self.query.isActive:
                self.query.stop()
        finally:
            self.prepared.input.close()
            shutil.rmtree(self.scratch, ignore_errors=True)
            if self in _live:
                _live.remove(self)

    def _raise_failure(self) -> None:
        error = self.query.exception()
        if error is not None:
            raise _shown(usecase_failure(self.prepared.usecase, error)) from None

    def __enter__(self) -> LiveTable:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.query.isActive else "stopped"
        return f"<LiveTable {self.name} of ({self.prepared.usecase.name}), {state}>"
