"""Streaming DataFrame use cases on Structured Streaming: one query per use case.

Each use case's ``load()`` runs once, at start, on a streaming DataFrame of its input; its
findings are delivered batch by batch (trigger: ``batch.interval``) through ``foreachBatch``,
into the same output plugins, Written lines and dead letters as every use case. The query counts
the records that do not parse as it reads them (an observed metric); a batch that counted some
reads its input again, from its checkpoint, to send them to the dead letters before it commits
(only those records reach Python). From Kafka, only the fields ``load()`` reads are parsed
(``datashark.frames.plan``).

The query's checkpoint is ``<checkpoint.dir>/<use case>/query``: it holds what the input has
read (Kafka offsets, files seen) and the state of open windows, so it survives stop and restart
and advances only once a batch's outputs succeeded: a batch cut short by a crash is run again at
the next start, with the same batch time, so Elasticsearch's ids make it overwrite instead of
duplicate. A ``-d`` run uses a checkpoint of its own, removed at stop, and moves nothing on.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from datashark import console
from datashark.config.usecase import folder_name
from datashark.detect.window_state import usecase_state
from datashark.events.deadletter import DeadLetters, dead_letters_for
from datashark.files.private import private_hadoop_folder
from datashark.frames.batch import set_aside
from datashark.frames.checkpoint import offset_log
from datashark.frames.events import FrameEvents, file_events, finish, observed_count, usecase_session
from datashark.frames.findings import check_findings, finding_columns, finding_rows
from datashark.frames.plan import fields_load_reads
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
STOP_POLL_SECONDS = 0.2


@dataclass
class FrameStream:
    """One use case's streaming findings, and how its input's unparsed records are counted."""

    findings: DataFrame
    read: FrameEvents
    dead_letters: DeadLetters


def output_mode(prepared: Prepared) -> str:
    """Which rows of the findings each batch delivers (the conf's ``output.mode``)."""
    return prepared.usecase.conf["output.mode"]


def streaming_findings(sc, run: RunContext, prepared: Prepared) -> DataFrame:
    """The streaming DataFrame of a use case's findings: ``load()`` called on its input's stream
    (columns ``key``, ``score``, then the metadata)."""
    return frame_stream(sc, run, prepared).findings


def frame_stream(sc, run: RunContext, prepared: Prepared) -> FrameStream:
    """Read the use case's input as a stream (parsing only the fields ``load()`` reads, when
    the input parses its messages itself) and call its ``load()`` on it."""
    usecase = prepared.usecase
    spark = usecase_session(sc, usecase)
    dead_letters = dead_letters_for(sc, run.settings, usecase)
    training_location = run.data_location(usecase)
    training = (
        file_events(spark, prepared, training_location, dead_letters).events if training_location else None
    )

    # A query's plan is built once, at start: its lookups are the values read then.
    lookups = prepared.lookups.start(sc)
    if any(lookup.refresh for lookup in prepared.lookups.lookups):
        console.info(f"({usecase.name}) lookups: refresh does not apply to a Structured Streaming query")

    def findings_of(read: FrameEvents) -> DataFrame:
        data, named = load_arguments(usecase, sc, read.events, training, spark=spark, lookups=lookups)
        return finding_columns(check_findings(call_load(prepared.module.load, data, named)))

    fields = fields_load_reads(spark, prepared, findings_of) if prepared.input.PARSES_MESSAGES else None
    read = finish(prepared.input.frames(spark, fields), prepared, count=True)
    return FrameStream(findings_of(read), read, dead_letters)


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
        deliver_batch = BatchDelivery(prepared, stream, running.checkpoint, name, debug=self.debug)
        findings = (
            stream.findings.writeStream.queryName(name)
            .outputMode(output_mode(prepared))
            .trigger(processingTime=trigger)
            .option("checkpointLocation", running.checkpoint)
            .foreachBatch(deliver_batch)
        )
        running.queries.append(findings.start())

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
            running.prepared.lookups.stop()


class BatchDelivery:
    """``foreachBatch`` of the findings query: deliver the batch's rows (or print them with
    ``-d``), set aside the records it could not parse, then tell the input which offsets the
    batch read up to."""

    def __init__(
        self, prepared: Prepared, stream: FrameStream, checkpoint: str, name: str, *, debug: bool
    ) -> None:
        self.prepared = prepared
        self.read = stream.read
        self.dead_letters = stream.dead_letters
        self.checkpoint = checkpoint
        self.name = name  # the query's
        # Batches run in a clone of the session that started the query, whose query manager
        # knows no query: the starting session's does.
        self.session = stream.findings.sparkSession
        self.debug = debug

    def __call__(self, frame: DataFrame, batch_id: int) -> None:
        prepared = self.prepared
        spark = frame.sparkSession
        sc = spark.sparkContext
        batch_time, offsets = offset_log(sc, self.checkpoint, batch_id)
        rows = finding_rows(frame)
        try:
            with scheduler_pool(sc, prepared.usecase):
                if self.debug:
                    show_stream_batch(prepared, rows, self.dead_letters, batch_time)
                else:
                    deliver(prepared, rows, self.dead_letters, batch_time)
                self._set_aside_unparsed(spark, batch_id)
            if offsets is not None and not self.debug:
                prepared.input.frames_delivered(offsets)
        except Exception as err:
            failure = failures.record(usecase_failure(prepared.usecase, err))
            raise failure from err

    def _set_aside_unparsed(self, spark, batch_id: int) -> None:
        """The batch's records that did not parse, read again from its input when it counted
        some (or when the count is not known: ``-d`` reads only the first rows)."""
        if self.read.unparsed is None:
            return
        counted = None if self.debug else self._unparsed_count(batch_id)
        if counted == 0:
            return
        records = self.prepared.input.frames_batch(spark, self.checkpoint, batch_id)
        if records is None:  # no input read, or an input that cannot read it again
            if counted:
                console.to_stderr(
                    f"[!] ({self.prepared.usecase.name}) {counted} records of a batch did not "
                    "parse; this input cannot read them again for the dead letters"
                )
            return
        set_aside(finish(records, self.prepared).unparsed, self.dead_letters)
        report_dead_letters(self.prepared, self.dead_letters)

    def _unparsed_count(self, batch_id: int) -> int | None:
        """How many records of the batch did not parse, as the query counted them while its
        rows were delivered; None when not known."""
        name = self.read.counted
        query = next((query for query in self.session.streams.active if query.name == self.name), None)
        if name is None or query is None:
            return None
        execution = query._jsq.streamingQuery().lastExecution()
        if execution is None or execution.currentBatchId() != batch_id:
            return None
        return observed_count(execution, name)
