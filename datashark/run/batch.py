"""Running one batch use case: read ``file`` or ``input``, call ``load()``, deliver (or print
with ``-d``)."""

from __future__ import annotations

from datetime import datetime
from functools import partial

from datashark import console
from datashark.detect import windows
from datashark.errors import UseCaseError
from datashark.events.deadletter import dead_letters_for
from datashark.events.whole_files import FileRecords, needs_whole_files
from datashark.files.listing import first_character, input_files, newest_modification
from datashark.loading.load_call import call_load, load_arguments
from datashark.run.context import RunContext
from datashark.run.delivery import debug_lines, deliver, events_for_load, report_dead_letters, start_output
from datashark.run.failures import usecase_failure
from datashark.run.prepare import Prepared


def records_of(sc, location: str, fmt: str):
    """An RDD of what the files at ``location`` hold, for the event stage: their lines, split
    across tasks as ``textFile`` splits them; or, for files that need their start (Zeek TSV logs
    and their gzip archives, JSON files that are one array), the events read from each file
    whole. Zeek JSON logs, one object a line, are split like any text: a day's log of a busy
    sensor is gigabytes, more than one task can hold."""
    if fmt not in ("json", "zeek"):
        return sc.textFile(location)
    whole: list[str] = []
    lines: list[str] = []
    for entry in input_files(sc, location):
        (whole if _read_whole(first_character(sc, entry.uri), fmt) else lines).append(entry.uri)
    if not whole:
        return sc.textFile(location)
    parts = [sc.binaryFiles(",".join(whole)).flatMap(FileRecords(fmt))]
    if lines:
        parts.append(sc.textFile(",".join(lines)))
    return parts[0] if len(parts) == 1 else sc.union(parts)


def _read_whole(first: str | None, fmt: str) -> bool:
    """Whether a file of ``fmt`` starting with ``first`` must be read whole (see records_of)."""
    if fmt == "json":
        return first == "["
    return first != "{" and needs_whole_files(fmt)


def _reference_time(sc, prepared: Prepared) -> datetime | None:
    """Where times written without a year (syslog's) are placed: when the newest input file was
    last written, read from the conf's own location (a staged copy's time is the copy's). Not
    looked up when no time is read, or ``assume_year`` places them."""
    event_time = prepared.parser.time
    if event_time is None or event_time.assume_year is not None:
        return None
    location = prepared.usecase.data_path()
    try:
        return newest_modification(sc, location) if location else None
    except Exception:
        return None


def _training_events(sc, run: RunContext, prepared: Prepared, dead_letters):
    """``trainingData`` for a load() that takes it (``load_call.OptionalData``): the conf's
    ``training`` parsed as the streaming path parses it, or an empty RDD without one."""
    location = run.data_location(prepared.usecase, "training")
    lines = sc.textFile(location) if location else sc.emptyRDD()
    return events_for_load(prepared, lines, dead_letters, stage="training", filtered=False)


def run_batch(sc, run: RunContext, prepared: Prepared, *, debug: bool) -> None:
    """One batch use case; any failure becomes a one-line UseCaseError naming it."""
    from pyspark import RDD

    if prepared.usecase.reads_frames:
        from datashark.frames.batch import run_frame_batch

        run_frame_batch(sc, run, prepared, debug=debug)
        return

    usecase = prepared.usecase
    dead_letters = dead_letters_for(sc, run.settings, usecase)
    try:
        if not debug:
            start_output(prepared)
        data = events_for_load(
            prepared,
            _records(sc, run, prepared),
            dead_letters,
            stage="input",
            filtered=True,
            reference=_reference_time(sc, prepared),
        )
        training = partial(_training_events, sc, run, prepared, dead_letters)
        lookups = prepared.lookups.start(sc)
        result = call_load(
            prepared.module.load, *load_arguments(usecase, sc, data, training=training, lookups=lookups)
        )
        if not isinstance(result, RDD):
            raise UseCaseError(f"load() returned {type(result).__name__}, expected an RDD")
        if debug:
            for line in debug_lines(result.collect()):
                console.say(line)
            report_dead_letters(prepared, dead_letters)
        else:
            deliver(prepared, result, dead_letters, datetime.now())
        for note in windows.batch_notes():
            console.info(note)
    except Exception as err:  # anything from the user's code or Spark fails this use case only
        raise usecase_failure(usecase, err) from err
    finally:
        prepared.lookups.stop()
        if prepared.source is not None:
            prepared.source.close()


def _records(sc, run: RunContext, prepared: Prepared):
    """What the use case reads: its input's records, or its ``file``'s."""
    if prepared.source is not None:
        return prepared.source.batch_records(sc)
    location = run.data_location(prepared.usecase)
    assert location is not None  # a batch use case without input has a file
    return records_of(sc, location, prepared.parser.format)
