"""Streaming DataFrame use cases on Structured Streaming: one query per use case.

Each use case's ``load()`` runs once, at start, on a streaming DataFrame of its input; its
findings are delivered batch by batch (trigger: ``batch.interval``) through ``foreachBatch``,
into the same output plugins, Written lines and dead letters as every use case. Records that do
not parse go to the dead letters through a second, light query over the same input (only those
records reach Python).

The query's checkpoint is ``<checkpoint.dir>/<use case>/query``: it holds what the input has
read (Kafka offsets, files seen) and the state of open windows, so it survives stop and restart
and advances only once a batch's outputs succeeded: a batch cut short by a crash is run again at
the next start, with the same batch time, so Elasticsearch's ids make it overwrite instead of
duplicate. A ``-d`` run uses a checkpoint of its own, removed at stop, and moves nothing on.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from datashark import console
from datashark.config.usecase import folder_name
from datashark.detect.window_state import usecase_state
from datashark.events.deadletter import DeadLetters, dead_letters_for
from datashark.files.private import private_hadoop_folder
from datashark.frames.batch import set_aside
from datashark.frames.events import file_events, finish, spark_session
from datashark.frames.findings import check_findings, finding_columns, finding_rows
from datashark.loading.load_call import call_load, load_arguments
from datashark.run import failures
from datashark.run.context import RunContext
from datashark.run.delivery import deliver, report_dead_letters, show_stream_batch, start_output
from datashark.run.failures import usecase_failure
from datashark.run.prepare import Prepared
from datashark.run.spark import scheduler_pool

if TYPE_CHECKING:
    from pyspark.sql import DataFrame
    from pyspark.sql.streaming import StreamingQuery

QUERY_FOLDER = "query"  # the findings query's checkpoint, in the use case's state folder
UNPARSED_FOLDER = "unparsed"  # the dead-letter query's
STOP_POLL_SECONDS = 0.2


@dataclass
class FrameStream:
    """One use case's streaming DataFrames: its findings, and its input's unparsed records."""

    findings: DataFrame
    unparsed: DataFrame | None
    dead_letters: DeadLetters


def output_mode(prepared: Prepared) -> str:
    """Which rows of the findings each batch delivers (the conf's ``output.mode``)."""
    return prepared.usecase.conf["output.mode"]


def streaming_findings(sc, run: RunContext, prepared: Prepared) -> DataFrame:
    """The streaming DataFrame of a use case's findings: ``load()`` called on its input's stream
    (columns ``key``, ``score``, then the metadata)."""
    return frame_stream(sc, run, prepared).findings


def frame_stream(sc, run: RunContext, prepared: Prepared) -> FrameStream:
    """Read the use case's input as a stream and call its ``load()`` on it."""
    usecase = prepared.usecase
    spark = spark_session(sc)
    dead_letters = dead_letters_for(sc, run.settings, usecase)
    read = finish(prepared.input.frames(spark), prepared)
    training_location = run.data_location(usecase)
    training = (
        file_events(spark, prepared, training_location, dead_letters).events if training_location else None
    )
    data, named = load_arguments(usecase, sc, read.events, training, spark=spark)
    findings = finding_columns(check_findings(call_load(prepared.module.load, data, named)))
    return FrameStream(findings, read.unparsed, dead_letters)


@dataclass
class RunningUseCase:
    """A started use case: its queries and where their checkpoints are."""

    prepared: Prepared
    queries: list[StreamingQuery] = field(default_factory=list)
    checkpoint: str = ""


class FrameQueries:
    """The queries of a run's streaming DataFrame use cases: started together, watched for
    failures, stopped together (after the batches in flight when the stop is graceful)."""

    def __init__(self, sc, run: RunContext, prepared: list[Prepared], *, debug: bool, scratch: str) -> None:
        self.sc = sc
        self.run = run
        self.debug = debug
        self.scratch = scratch  # -d runs' checkpoints: the run's own folder, removed at stop
        self.running = [RunningUseCase(item) for item in prepared]

    def start(self) -> None:
        for running in self.running:
            usecase = running.prepared.usecase
            with scheduler_pool(self.sc, usecase):
                try:
                    self._start(running)
                except Exception as err:  # the input, load() or the output's set-up, at start
                    self.stop(graceful=False)
                    raise usecase_failure(usecase, err) from err

    def _start(self, running: RunningUseCase) -> None:
        prepared = running.prepared
        usecase = prepared.usecase
        source = prepared.input
        console.say(f" - Starting {usecase.name}")
        console.say(f"   + Input Module: {source.description}")
        console.say(f"   + Output Module: {usecase.output.title()} (Structured Streaming)")
        if not self.debug:
            start_output(prepared)
        stream = frame_stream(self.sc, self.run, prepared)
        report_dead_letters(prepared, stream.dead_letters)  # from training, read already
        base = self.scratch if self.debug else usecase_state(self.run.settings.checkpoint_dir, usecase.name)
        running.checkpoint = f"{base.rstrip('/')}/{QUERY_FOLDER}"
        private_hadoop_folder(self.sc, self.sc._jvm.org.apache.hadoop.fs.Path(base))
        trigger = f"{self.run.settings.batch_interval} seconds"
        name = folder_name(usecase.name)
        deliver_batch = BatchDelivery(prepared, stream.dead_letters, running.checkpoint, debug=self.debug)
        findings = (
            stream.findings.writeStream.queryName(name)
            .outputMode(output_mode(prepared))
            .trigger(processingTime=trigger)
            .option("checkpointLocation", running.checkpoint)
            .foreachBatch(deliver_batch)
        )
        running.queries.append(findings.start())
        if stream.unparsed is not None:
            letters = (
                stream.unparsed.writeStream.queryName(f"{name}-unparsed")
                .trigger(processingTime=trigger)
                .option("checkpointLocation", f"{base.rstrip('/')}/{UNPARSED_FOLDER}")
                .foreachBatch(UnparsedDelivery(prepared, stream.dead_letters))
            )
            running.queries.append(letters.start())

    def failure(self) -> Exception | None:
        """The first query that stopped with an error, as the use case's failure."""
        for running in self.running:
            for query in running.queries:
                error = query.exception()
                if error is not None:
                    recorded = failures.first()
                    return recorded or usecase_failure(running.prepared.usecase, error)
        return None

    def stop(self, *, graceful: bool) -> None:
        """Stop every query; ``graceful``: each finishes the batch it is running first (a batch
        stopped half-way is run again at the next start, from the checkpoint)."""
        for running in self.running:
            for query in running.queries:
                if graceful:
                    while query.isActive and query.status.get("isTriggerActive"):
                        time.sleep(STOP_POLL_SECONDS)
                try:
                    query.stop()
                except Exception as err:  # the query failed already: failure() reports it
                    console.to_stderr(f"[!] ({running.prepared.usecase.name}) stopping: {type(err).__name__}")
            running.prepared.input.close()


class BatchDelivery:
    """``foreachBatch`` of the findings query: deliver the batch's rows (or print them with
    ``-d``), then tell the input which offsets the batch read up to."""

    def __init__(
        self, prepared: Prepared, dead_letters: DeadLetters, checkpoint: str, *, debug: bool
    ) -> None:
        self.prepared = prepared
        self.dead_letters = dead_letters
        self.checkpoint = checkpoint
        self.debug = debug

    def __call__(self, frame: DataFrame, batch_id: int) -> None:
        prepared = self.prepared
        sc = frame.sparkSession.sparkContext
        batch_time, offsets = offset_log(sc, self.checkpoint, batch_id)
        rows = finding_rows(frame)
        try:
            with scheduler_pool(sc, prepared.usecase):
                if self.debug:
                    show_stream_batch(prepared, rows, self.dead_letters, batch_time)
                    return
                deliver(prepared, rows, self.dead_letters, batch_time)
            if offsets is not None:
                prepared.input.frames_delivered(offsets)
        except Exception as err:
            failure = failures.record(usecase_failure(prepared.usecase, err))
            raise failure from err


class UnparsedDelivery:
    """``foreachBatch`` of the dead-letter query: the batch's unparsed records, stored."""

    def __init__(self, prepared: Prepared, dead_letters: DeadLetters) -> None:
        self.prepared = prepared
        self.dead_letters = dead_letters

    def __call__(self, frame: DataFrame, batch_id: int) -> None:
        try:
            set_aside(frame, self.dead_letters)
            report_dead_letters(self.prepared, self.dead_letters)
        except Exception as err:
            failure = failures.record(usecase_failure(self.prepared.usecase, err))
            raise failure from err


def offset_log(sc, checkpoint: str, batch_id: int) -> tuple[datetime, str | None]:
    """The batch's time and its source's end offsets, from the query's offset log (written by
    Spark before the batch runs: ``v1``, then its metadata with ``batchTimestampMs``, then one
    line per source). A batch run again after a crash has the time it had, so its rows are the
    same rows; without a readable log, now."""
    try:
        text = _read_text(sc, f"{checkpoint}/offsets/{batch_id}")
        lines = text.splitlines()
        metadata: dict[str, Any] = json.loads(lines[1])
        batch_time = datetime.fromtimestamp(metadata["batchTimestampMs"] / 1000)
        source = lines[2] if len(lines) > 2 and lines[2].startswith("{") else None
        return batch_time, source
    except Exception:  # an unreadable log costs only the replay's identical ids
        return datetime.now(), None


def _read_text(sc, location: str) -> str:
    hadoop = sc._jvm.org.apache.hadoop.fs
    path = hadoop.Path(location)
    stream = path.getFileSystem(sc._jsc.hadoopConfiguration()).open(path)
    try:
        return sc._jvm.org.apache.commons.io.IOUtils.toString(stream, "UTF-8")
    finally:
        stream.close()
