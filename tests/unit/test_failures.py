"""What a failed use case prints: without -v its own frames, then one line naming the error;
with -v the whole story first. The line is the error's summary, even when Spark wraps it."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from datashark.config.settings import load_settings
from datashark.errors import UseCaseError
from datashark.run import failures
from datashark.run.failures import UseCaseFailedError, report_failure, summarize, usecase_failure
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


def test_frames_survive_an_exception_whose_str_fails(tmp_path):
    class UnprintableError(Exception):
        def __str__(self) -> str:
            raise RuntimeError("the JVM is gone")

    assert where_in_code(UnprintableError(), tmp_path / "uc.py") == ()


WORKER_TRACEBACK = (
    "An error occurred while calling o42.collect.\n"
    ": org.apache.spark.SparkException: Job aborted due to stage failure: Task 0 failed: "
    "org.apache.spark.api.python.PythonException: "
    "Traceback (most recent call last):\n"
    '  File "x", line 1, in load\n'
    "    1/0\n"
    "ZeroDivisionError: division by zero\n"
    "\n"
    "\tat org.apache.spark.api.python.BasePythonRunner$ReaderIterator.handlePythonException(x.scala:1)\n"
    "\tat org.apache.spark.api.python.PythonRunner$$anon$3.read(x.scala:2)\n"
)


class FakePy4JError(Exception):
    pass


def test_summarize_worker_traceback():
    assert summarize(FakePy4JError(WORKER_TRACEBACK)) == "ZeroDivisionError: division by zero"


def test_summarize_minimal_worker_traceback():
    message = (
        'Traceback (most recent call last):\n  File "x", line 1, in load\n    1/0\n'
        "ZeroDivisionError: division by zero\n\n\tat org.apache..."
    )
    assert summarize(RuntimeError(message)) == "ZeroDivisionError: division by zero"


def test_summarize_drops_the_class_of_datasharks_own_errors_raised_on_executors():
    message = (
        'Traceback (most recent call last):\n  File "x", line 1, in send\n    y\n'
        "datashark.es_bulk.ElasticsearchError: Elasticsearch at http://h:9200: bulk failed after 5 tries\n"
    )
    assert summarize(RuntimeError(message)) == "Elasticsearch at http://h:9200: bulk failed after 5 tries"


def test_summarize_takes_the_last_traceback():
    message = (
        "Traceback (most recent call last):\n  File \"a\", line 1, in f\n    x\nKeyError: 'a'\n\n"
        "During handling of the above exception, another exception occurred:\n\n"
        'Traceback (most recent call last):\n  File "b", line 2, in load\n    y\n'
        "ValueError: bad value\n"
    )
    assert summarize(RuntimeError(message)) == "ValueError: bad value"


def test_summarize_plain_exception():
    assert summarize(ValueError("msg")) == "ValueError: msg"


def test_summarize_plain_exception_keeps_first_line_only():
    assert summarize(ValueError("first\nsecond")) == "ValueError: first"


def test_summarize_exception_without_message():
    assert summarize(ZeroDivisionError()) == "ZeroDivisionError"
