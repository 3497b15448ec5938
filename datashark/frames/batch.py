"""Running one batch DataFrame use case: read ``file`` or ``input``, call ``load()``, deliver
(or print with ``-d``)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from datashark import console
from datashark.events.deadletter import DeadLetters, dead_letters_for
from datashark.frames.events import FrameEvents, file_events, finish, usecase_session
from datashark.frames.findings import check_findings, finding_columns, finding_rows
from datashark.loading.load_call import call_load, load_arguments
from datashark.run.context import RunContext
from datashark.run.delivery import debug_lines, deliver, report_dead_letters, start_output
from datashark.run.failures import usecase_failure
from datashark.run.prepare import Prepared

if TYPE_CHECKING:
    from pyspark.sql import DataFrame


def run_frame_batch(sc, run: RunContext, prepared: Prepared, *, debug: bool) -> None:
    """One batch DataFrame use case; any failure becomes a one-line UseCaseError naming it."""
    usecase = prepared.usecase
    dead_letters = dead_letters_for(sc, run.settings, usecase)
    try:
        if not debug:
            start_output(prepared)
        result, read = batch_findings(sc, run, prepared, dead_letters)
        findings = finding_columns(result)
        rows = finding_rows(findings)
        if debug:
            for line in debug_lines(rows.collect()):
                console.say(line)
        else:
            deliver(prepared, rows, dead_letters, datetime.now())
        set_aside_unparsed(read, findings, dead_letters)
        report_dead_letters(prepared, dead_letters)
    except Exception as err:  # anything from the user's code or Spark fails this use case only
        raise usecase_failure(usecase, err) from err
    finally:
        prepared.lookups.stop()
        if prepared.source is not None:
            prepared.source.close()


def batch_findings(
    sc, run: RunContext, prepared: Prepared, dead_letters: DeadLetters
) -> tuple[DataFrame, FrameEvents]:
    """A batch use case's ``load()`` called on its ``file`` or ``input``: the DataFrame it returned (checked),
    and the events it read, whose unparsed records ``set_aside_unparsed`` stores once the
    findings were read."""
    usecase = prepared.usecase
    spark = usecase_session(sc, usecase)
    if prepared.source is not None:
        read = finish(prepared.source.batch_frame(spark), prepared, count=True)
    else:
        location = run.data_location(usecase)
        assert location is not None  # a batch use case without input has a file
        read = file_events(spark, prepared, location, dead_letters)

    def training() -> DataFrame | None:
        training_location = run.data_location(usecase, "training")
        if training_location is None:
            return None
        return file_events(spark, prepared, training_location, dead_letters).events

    lookups = prepared.lookups.start(sc)
    data, named = load_arguments(usecase, sc, read.events, training=training, spark=spark, lookups=lookups)
    return check_findings(call_load(prepared.module.load, data, named)), read


def set_aside_unparsed(read: FrameEvents, findings: DataFrame | None, dead_letters: DeadLetters) -> None:
    """Once every row of ``findings`` was read: the records that did not parse, to the dead
    letters, in a second pass over the input only when the count observed in the first says
    some did, or is not known (``FrameEvents.unparsed_seen``; ``findings`` None: not known)."""
    if read.unparsed_seen(findings):
        set_aside(read.unparsed, dead_letters)


def set_aside(unparsed: DataFrame | None, dead_letters: DeadLetters) -> None:
    """The records that did not parse, to the dead letters (stored at the next flush). Only
    these rows reach Python: the JVM selects them."""
    if unparsed is not None:
        unparsed.foreachPartition(UnparsedLetters(dead_letters))


class UnparsedLetters:
    """foreachPartition function: each unparsed record is a dead letter of the input stage."""

    def __init__(self, dead_letters: DeadLetters) -> None:
        self.dead_letters = dead_letters

    def __call__(self, rows) -> None:
        for raw, reason, *_ in rows:
            self.dead_letters.add("input", reason, raw if raw is not None else "")
