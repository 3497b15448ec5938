"""One batch's way out: valid rows to the output plugin, the rest to the dead letters.

Shared by batch runs and by every streaming batch, so both report the same Written line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from datashark import console
from datashark.events import EventStage
from datashark.one_batch_stream import OneBatchStream
from datashark.plugins import Batch, OutputPlugin
from datashark.records import ValidRows

if TYPE_CHECKING:
    from datetime import datetime

    from pyspark import RDD

    from datashark.deadletter import DeadLetters
    from datashark.engine import Prepared


def events_for_load(
    prepared: Prepared,
    lines,
    dead_letters: DeadLetters,
    *,
    stage: str,
    filtered: bool,
    text_only: bool = True,
):
    """``lines`` (an RDD or DStream) as ``load()`` should see them: parsed, filtered, or as they are,
    and never larger than the use case's ``max.event.bytes``.

    Unless ``text_only``, ``lines`` may carry ``bytes`` (a Kafka message that is not UTF-8 text),
    which the stage dead-letters.
    """
    log_filter = prepared.log_filter if filtered else None
    stage_of_events = EventStage(
        prepared.parser, log_filter, dead_letters, stage=stage, max_event_bytes=prepared.max_event_bytes
    )
    return lines.mapPartitions(stage_of_events)


def start_output(prepared: Prepared) -> None:
    """The output plugin prepares its sink before the first batch (original-style ones cannot)."""
    if isinstance(prepared.plugin, OutputPlugin):
        prepared.plugin.start()


def deliver(prepared: Prepared, rdd: RDD, dead_letters: DeadLetters, batch_time: datetime) -> None:
    """Write the valid rows of ``rdd``, store the dead letters, print the batch's line."""
    valid = rdd.mapPartitions(ValidRows(dead_letters), preservesPartitioning=True)
    plugin = prepared.plugin
    if isinstance(plugin, OutputPlugin):
        count = plugin.write(valid, Batch(batch_time, dead_letters))
        console.written(plugin.title, count, plugin.destination, str(dead_letters.flush()))
    else:
        prog_type = prepared.usecase.type
        plugin.save(valid if prog_type == "batch" else OneBatchStream(valid, batch_time), prog_type)
        report_dead_letters(prepared, dead_letters)


def report_dead_letters(prepared: Prepared, dead_letters: DeadLetters) -> None:
    """Store what was collected; say so when there was any (plugins that print their own lines)."""
    flushed = dead_letters.flush()
    if flushed.count:
        console.say(f"{console.timestamp()} - ({prepared.usecase.name}) - {flushed} in {dead_letters.path}")
