"""engine.summarize and the console lines users and their log watchers read."""

from __future__ import annotations

import re

import pytest

from datashark import __version__, console
from datashark.run.failures import summarize

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


@pytest.mark.parametrize("mode", ["STANDALONE MODE", "PRODUCTION MODE"])
def test_banner_has_mode_and_version(mode):
    text = console.banner(mode)
    assert mode in text
    assert f"v{__version__}" in text
    assert "/_/" in text
    assert all(line == line.rstrip() for line in text.splitlines())


WRITTEN = r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} - \(Title\) - Written 7 Documents to CSV File /x$"


def test_written_line(capsys):
    console.written("Title", 7, "CSV File /x")
    out = capsys.readouterr().out
    assert re.fullmatch(WRITTEN + "\n", out, flags=re.MULTILINE)


def test_written_line_for_nothing(capsys):
    console.written("Title", 0, "CSV File /x")
    out = capsys.readouterr().out
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} - \(Title\) - No RDD Data Received\n", out)


def test_timestamp_format():
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", console.timestamp())


def test_info_and_error_lines(capsys):
    console.info("Starting")
    console.error("Broken")
    captured = capsys.readouterr()
    assert re.fullmatch(r"\[\*\] \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} Starting\n", captured.out)
    assert captured.err == "[X] Broken\n"


def test_running_as_root_says_so_in_one_line(capsys, monkeypatch):
    monkeypatch.setattr(console.os, "geteuid", lambda: 0)
    console.warn_if_root()
    monkeypatch.setattr(console.os, "geteuid", lambda: 1000)
    console.warn_if_root()
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("[!] running as root: ")
