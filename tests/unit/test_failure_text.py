"""What a failed use case prints without -v: its own frames, then one line; and the lines that
say where rows went: all dead-lettered, where dead letters go, -d's bad rows."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import pytest
from pyspark.accumulators import Accumulator

from datashark import console
from datashark.config.settings import load_settings
from datashark.errors import UseCaseError
from datashark.events.deadletter import DeadLetters
from datashark.run import delivery, failures
from datashark.run.failures import UseCaseFailedError, report_failure, usecase_failure
from datashark.run.spark import spark_conf
from datashark.run.tracebacks import Frame, frames_in_text, own_frames, where_in_code
from tests.unit.conftest import REPO


def spark_message(code: Path) -> str:
    """A Py4JJavaError's text as Spark 4 words it when load()'s map raised on an executor."""
    worker = f"""Traceback (most recent call last):
  File "/venv/site-packages/pyspark/python/lib/pyspark.zip/pyspark/worker.py", line 4327, in invoke_udf
    run_process()
  File "{REPO}/plugins/output/out_csv.py", line 162, in chunks
    for row in rows:
  File "{REPO}/datashark/records.py", line 168, in __call__
    for row in rows:
  File "{code}", line 7, in load_row
    return parse(line)
  File "{code}", line 3, in parse
    return (parts[3], 1.0)
            ~~~~~^^^
IndexError: list index out of range
 SQLSTATE: 38000
\tat org.apache.spark.api.python.BasePythonRunner$ReaderIterator.read(PythonRunner.scala:1097)
"""
    return (
        "An error occurred while calling o61.collectAndServe.\n"
        "org.apache.spark.SparkException: Job aborted due to stage failure: Lost task 0.0: "
        f"org.apache.spark.api.python.PythonException: [PYTHON_EXCEPTION] {worker}"
        f"\tat java.base/java.lang.Thread.run(Thread.java:840)\nCaused by: PythonException: {worker}"
    )


def test_frames_in_text_reads_the_last_worker_traceback(tmp_path):
    code = tmp_path / "uc" / "ssh.py"
    frames = frames_in_text(spark_message(code))
    assert [frame.function for frame in frames] == ["invoke_udf", "chunks", "__call__", "load_row", "parse"]
    assert frames[-1] == Frame(str(code), 3, "parse", "return (parts[3], 1.0)")
    assert frames_in_text("org.apache.spark.SparkException: no Python here") == []


def test_own_frames_are_the_use_case_folders_only(tmp_path):
    code = tmp_path / "uc" / "ssh.py"
    helper = tmp_path / "uc" / "lib" / "fields.py"
    frames = [
        Frame(str(REPO / "datashark" / "records.py"), 168, "__call__"),
        Frame(str(tmp_path / "uc" / "plugins" / "output" / "out_x.py"), 9, "write"),
        Frame(str(tmp_path / "other" / "ssh.py"), 1, "elsewhere"),
        Frame(str(code), 7, "load_row"),
        Frame(str(helper), 2, "split", "return line.split()"),
    ]
    assert own_frames(frames, code) == frames[-2:]
    assert frames[-1].describe(code.parent) == "lib/fields.py:2 in split: return line.split()"
    assert Frame(str(code), 3, "parse", "x" * 300).describe(code.parent).endswith("x" * 100 + "...")


def test_where_in_code_reads_driver_tracebacks_and_quoted_worker_ones(tmp_path):
    code = tmp_path / "uc" / "ssh.py"
    code.parent.mkdir()
    code.write_text("def load(data):\n    return data[3]\n")
    namespace: dict = {}
    exec(compile(code.read_text(), str(code), "exec"), namespace)
    with pytest.raises(IndexError) as on_driver:
        namespace["load"]([])
    assert where_in_code(on_driver.value, code) == ("ssh.py:2 in load: return data[3]",)

    on_executor = RuntimeError(spark_message(code))
    assert where_in_code(on_executor, code) == (
        "ssh.py:7 in load_row: return parse(line)",
        "ssh.py:3 in parse: return (parts[3], 1.0)",
    )


def usecase(tmp_path: Path) -> SimpleNamespace:
    return SimpleNamespace(name="SSH Brute Force", code_path=tmp_path / "uc" / "ssh.py")


def test_report_prints_the_frames_then_the_failed_line_last(tmp_path, capsys):
    failure = usecase_failure(usecase(tmp_path), RuntimeError(spark_message(tmp_path / "uc" / "ssh.py")))
    assert str(failure) == "(SSH Brute Force) - Failed: IndexError: list index out of range"
    report_failure(failure, verbose=False)
    assert capsys.readouterr().err.splitlines() == [
        "    at ssh.py:7 in load_row: return parse(line)",
        "    at ssh.py:3 in parse: return (parts[3], 1.0)",
        "[X] (SSH Brute Force) - Failed: IndexError: list index out of range",
    ]


def test_report_with_verbose_prints_the_whole_story_first(tmp_path, capsys):
    try:
        raise UseCaseFailedError("(uc) - Failed: boom", ("uc.py:1 in load",)) from RuntimeError("JVM stack")
    except UseCaseFailedError as err:
        report_failure(err, verbose=True)
    lines = capsys.readouterr().err.splitlines()
    assert lines[-2:] == ["    at uc.py:1 in load", "[X] (uc) - Failed: boom"]
    assert "RuntimeError: JVM stack" in lines and "Traceback (most recent call last):" in lines


def test_streaming_reports_the_frames_of_the_failure_recorded_on_sparks_thread(tmp_path, capsys):
    recorded = failures.record(
        usecase_failure(usecase(tmp_path), RuntimeError(spark_message(tmp_path / "uc" / "ssh.py")))
    )
    try:
        report_failure(UseCaseError(f"streaming stopped: {recorded}"), verbose=False)
    finally:
        failures.clear()
    assert capsys.readouterr().err.splitlines()[-2:] == [
        "    at ssh.py:3 in parse: return (parts[3], 1.0)",
        "[X] streaming stopped: (SSH Brute Force) - Failed: IndexError: list index out of range",
    ]


def test_spark_logs_failed_tasks_only_with_verbose():
    settings = load_settings(REPO)
    quiet = spark_conf(settings, "local[1]", "t").get("spark.driver.extraJavaOptions")
    loud = spark_conf(settings, "local[1]", "t", verbose=True).get("spark.driver.extraJavaOptions")
    assert "datashark.spark.failures" not in quiet
    assert loud.endswith(" -Ddatashark.spark.failures=warn")
    properties = (REPO / "datashark" / "log4j2.properties").read_text()
    for logger in ("TaskSetManager", "executor.Executor", "JobScheduler"):
        assert re.search(
            rf"\.name = org\.apache\.spark\.[\w.]*{logger}\n\S+\.level = \$\{{sys:datashark", properties
        )


# All rows dead-lettered: not "No RDD Data Received".


def test_written_line_when_every_row_was_dead_lettered(capsys):
    console.written("Title", 0, "CSV File /x", "7 Dead Letters", rejected=7, where="/dl/uc/2026-01-01.jsonl")
    assert re.fullmatch(
        r"\S+ \S+ - \(Title\) - 0 of 7 rows written to CSV File /x: all dead-lettered \(7 Dead Letters\), "
        r"see /dl/uc/2026-01-01\.jsonl\n",
        capsys.readouterr().out,
    )
    console.written("Title", 0, "CSV File /x", "2 Dead Letters", rejected=0, where="/dl")
    assert capsys.readouterr().out.endswith(" - (Title) - No RDD Data Received (2 Dead Letters)\n")


class DriverOnly:
    """Just enough of a SparkContext for the store: an accumulator on the driver."""

    def accumulator(self, value, param):
        return Accumulator(0, value, param)


def test_flush_counts_the_rejected_rows_and_says_once_where_they_go(tmp_path, capsys):
    letters = DeadLetters(DriverOnly(), tmp_path / "dl", "SSH Brute Force")
    prepared = SimpleNamespace(usecase=SimpleNamespace(name="SSH Brute Force"))
    letters.add("input", "not JSON", "{oops")
    letters.add("output", "load() returned a bad row", "(1, 'a')")
    letters.add("output", "load() returned a bad row", "(2, 'b')")
    first = delivery.flush_dead_letters(prepared, letters)
    assert (first.count, first.rejected_rows) == (3, 2)
    assert capsys.readouterr().out.endswith(f" Dead letters of (SSH Brute Force) go to {letters.path}\n")
    letters.add("output", "load() returned a bad row", "(3, 'c')")
    again = delivery.flush_dead_letters(prepared, letters)
    assert (again.count, again.rejected_rows) == (1, 1)
    assert capsys.readouterr().out == "", "said once a run"


# -d marks the rows the output would dead-letter.


def test_debug_marks_bad_rows_and_prints_the_good_ones_as_before():
    rows = [("5.188.10.180", 25, {"n": 1}), (25, "5.188.10.180", {}), ("ok", float("nan"))]
    assert delivery.debug_lines(rows) == [
        "[('5.188.10.180', 25, {'n': 1})]",
        "[bad row: key is int, not str] (25, '5.188.10.180', {})",
        "[bad row: score is nan, not a finite number] ('ok', nan)",
    ]
    assert delivery.marked(("a", 1)) == "('a', 1)"
    assert delivery.marked(("a", "b" * 500)).endswith("b" * 10 + "...")


def test_debug_shows_a_few_bad_rows_and_counts_the_rest():
    lines = delivery.debug_lines([(n, "swapped") for n in range(25)])
    assert lines[0] == "[]"
    assert len(lines) == 1 + delivery.MAX_BAD_ROWS_SHOWN + 1
    assert lines[-1] == "[bad rows: 15 more not shown]"


def test_frames_survive_an_exception_whose_str_fails(tmp_path):
    class UnprintableError(Exception):
        def __str__(self) -> str:
            raise RuntimeError("the JVM is gone")

    assert where_in_code(UnprintableError(), tmp_path / "uc.py") == ()
