"""Running one batch use case: read ``file``, call ``load()``, deliver (or print with ``-d``)."""

from __future__ import annotations

from datetime import datetime

from datashark import console
from datashark.errors import UseCaseError
from datashark.events.deadletter import dead_letters_for
from datashark.loading.load_call import call_load, load_arguments
from datashark.run.context import RunContext
from datashark.run.delivery import debug_lines, deliver, events_for_load, report_dead_letters, start_output
from datashark.run.failures import usecase_failure
from datashark.run.prepare import Prepared


def run_batch(sc, run: RunContext, prepared: Prepared, *, debug: bool) -> None:
    """One batch use case; any failure becomes a one-line UseCaseError naming it."""
    from pyspark import RDD

    usecase = prepared.usecase
    dead_letters = dead_letters_for(sc, run.settings, usecase)
    try:
        if not debug:
            start_output(prepared)
        lines = sc.textFile(run.data_location(usecase))
        data = events_for_load(prepared, lines, dead_letters, stage="input", filtered=True)
        result = call_load(prepared.module.load, *load_arguments(usecase, sc, data))
        if not isinstance(result, RDD):
            raise UseCaseError(f"load() returned {type(result).__name__}, expected an RDD")
        if debug:
            for line in debug_lines(result.collect()):
                console.say(line)
            report_dead_letters(prepared, dead_letters)
        else:
            deliver(prepared, result, dead_letters, datetime.now())
    except Exception as err:  # anything from the user's code or Spark fails this use case only
        raise usecase_failure(usecase, err) from err
