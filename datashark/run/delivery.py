"""One batch's way out: valid rows to the output plugin, the rest to the dead letters.

Shared by batch runs and by every streaming batch, so both report the same Written line.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from datashark import console
from datashark.events.parsing import EventStage
from datashark.events.records import ValidRows, raw_text, row_problem
from datashark.loading.one_batch_stream import PPRINT_RULE
from datashark.plugin_api import OutputBatch

if TYPE_CHECKING:
    from datetime import datetime

    from pyspark import RDD

    from datashark.events.deadletter import DeadLetters, Flushed
    from datashark.run.prepare import Prepared

MAX_BAD_ROWS_SHOWN = 10  # -d marks this many bad rows of a batch, then counts the others
STREAM_ROWS_SHOWN = 10  # rows of a streaming batch -d prints, as DStream.pprint()
MAX_BAD_ROW_CHARS = 200


def events_for_load(
    prepared: Prepared,
    lines,
    dead_letters: DeadLetters,
    *,
    stage: str,
    filtered: bool,
    text_only: bool = True,
    reference: datetime | None = None,
):
    """``lines`` (an RDD or DStream) as ``load()`` should see them: parsed, filtered, or as they are,
    and never larger than the use case's ``max.event.bytes``.

    Unless ``text_only``, ``lines`` may carry ``bytes`` (a Kafka message that is not UTF-8 text),
    which the stage dead-letters. Times written without a year are placed near ``reference``
    (an RDD: its files' newest modification; a DStream: each batch's time).
    """
    log_filter = prepared.log_filter if filtered else None
    stage_of_events = EventStage(
        prepared.parser,
        log_filter,
        dead_letters,
        stage=stage,
        max_event_bytes=prepared.max_event_bytes,
        reference=reference,
    )
    if hasattr(lines, "foreachRDD"):  # a DStream: each batch's stage knows the batch's time
        return lines.transform(lambda batch_time, rdd: rdd.mapPartitions(stage_of_events.at(batch_time)))
    return lines.mapPartitions(stage_of_events)


def start_output(prepared: Prepared) -> None:
    """The output plugin prepares its sink before the first batch."""
    prepared.plugin.start()


def deliver(prepared: Prepared, rdd: RDD, dead_letters: DeadLetters, batch_time: datetime) -> None:
    """Write the valid rows of ``rdd``, store the dead letters, print the batch's line."""
    valid = rdd.mapPartitions(ValidRows(dead_letters), preservesPartitioning=True)
    plugin = prepared.plugin
    count = plugin.write(valid, OutputBatch(batch_time, dead_letters))
    if count is None:  # the plugin printed its own report
        report_dead_letters(prepared, dead_letters)
        return
    flushed = flush_dead_letters(prepared, dead_letters)
    console.written(
        plugin.title,
        count,
        plugin.destination,
        str(flushed),
        rejected=flushed.rejected_rows,
        where=str(dead_letters.path),
    )


def report_dead_letters(prepared: Prepared, dead_letters: DeadLetters) -> None:
    """Store what was collected; say so when there was any (plugins that print their own lines)."""
    flushed = flush_dead_letters(prepared, dead_letters)
    if flushed.count:
        console.say(f"{console.timestamp()} - ({prepared.usecase.name}) - {flushed} in {dead_letters.path}")


def flush_dead_letters(prepared: Prepared, dead_letters: DeadLetters) -> Flushed:
    """Store what was collected; the first time a run stores any, say where they go."""
    flushed = dead_letters.flush()
    if flushed.count and not dead_letters.announced:
        dead_letters.announced = True
        console.info(f"Dead letters of ({prepared.usecase.name}) go to {dead_letters.path}")
    return flushed


def show_stream_batch(prepared: Prepared, rdd: RDD, dead_letters: DeadLetters, batch_time: datetime) -> None:
    """``-d`` of a streaming batch: its first rows as DStream.pprint() prints them, with the rows
    the output would dead-letter marked (``marked``); then the batch's dead letters are stored."""
    taken = rdd.take(STREAM_ROWS_SHOWN + 1)
    console.say(f"{PPRINT_RULE}\nTime: {batch_time}\n{PPRINT_RULE}")
    for row in taken[:STREAM_ROWS_SHOWN]:
        console.say(marked(row))
    if len(taken) > STREAM_ROWS_SHOWN:
        console.say("...")
    console.say("")
    report_dead_letters(prepared, dead_letters)


def marked(row: Any) -> str:
    """One row as ``-d`` prints it: its repr, or ``[bad row: <problem>] <repr>`` for a row the
    output would dead-letter (the same checks, ``records.row_problem``)."""
    problem = row_problem(row)
    if problem is None:
        return repr(row)
    text = raw_text(row)
    short = text if len(text) <= MAX_BAD_ROW_CHARS else text[:MAX_BAD_ROW_CHARS] + "..."
    return f"[bad row: {problem}] {short}"


def debug_lines(rows: Iterable[Any]) -> list[str]:
    """A batch's rows as ``-d`` prints them: the valid ones in one list, as they always were,
    then each bad one on a line of its own (at most ``MAX_BAD_ROWS_SHOWN``)."""
    valid: list[Any] = []
    bad: list[Any] = []
    for row in rows:
        (valid if row_problem(row) is None else bad).append(row)
    lines = [repr(valid), *(marked(row) for row in bad[:MAX_BAD_ROWS_SHOWN])]
    if len(bad) > MAX_BAD_ROWS_SHOWN:
        lines.append(f"[bad rows: {len(bad) - MAX_BAD_ROWS_SHOWN} more not shown]")
    return lines
