"""``datashark test [CONF...]``: run the test cases of use cases and say which passed.

Exit codes: 0 every case passed; 1 a case failed; 2 a case file or conf is wrong (nothing ran).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from datashark import console
from datashark.config.settings import Settings
from datashark.run.production import LOCAL_MASTER
from datashark.run.spark import start_spark
from datashark.testing import report, runner

EXIT_PASSED = 0
EXIT_FAILED = 1
EXIT_BAD_CASE = 2
NO_UI = {"spark.ui.enabled": "false"}  # a test run shows nothing there, and needs no port


def run_test_cases(
    settings: Settings, targets: list[Path], *, timeout: float | None = None, verbose: bool = False
) -> int:
    """Run the cases of ``targets`` (confs, use-case folders or case files; none: every
    ``conf/*/*.conf`` of the home) and print the report; returns the exit code."""
    targets = targets or sorted((settings.home / "conf").glob("*/*.conf"))
    with tempfile.TemporaryDirectory(prefix="datashark-test-") as scratch:
        workdir = Path(scratch)
        planned = runner.plan(settings, targets, workdir)
        try:
            for note in planned.notes:
                console.say(f"---- {note}")
            if planned.errors:
                for error in planned.errors:
                    console.error(error)
                return EXIT_BAD_CASE
            outcomes = []
            if planned.runs:
                names = {run.prepared.usecase.name for run in planned.runs if run.prepared is not None}
                with _spark(settings, sorted(names), verbose=verbose) as sc:
                    for outcome in runner.run_cases(sc, settings, planned.runs, workdir, timeout=timeout):
                        outcomes.append(outcome)
                        for line in report.outcome_lines(outcome, verbose=verbose):
                            console.say(line)
        finally:
            runner.release(planned.runs)
    console.say(report.summary(outcomes))
    return EXIT_PASSED if all(outcome.passed for outcome in outcomes) else EXIT_FAILED


@contextmanager
def _spark(settings: Settings, pools: list[str], *, verbose: bool) -> Iterator:
    """The SparkContext of this process when there is one (a test session's), else a local one
    started for the run and stopped after it."""
    from pyspark import SparkContext

    active = SparkContext._active_spark_context
    if active is not None:
        yield active
        return
    sc = start_spark(settings, LOCAL_MASTER, "dataShark Test", NO_UI, pools=pools, verbose=verbose)
    try:
        yield sc
    finally:
        sc.stop()
