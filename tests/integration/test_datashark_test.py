"""``datashark test`` end to end, in this process: ``main(["test", ...])`` runs on the session's
SparkContext (the command uses the active one), through the real batch and streaming paths."""

from __future__ import annotations

import shutil
import textwrap
import time
from pathlib import Path

import pytest

from datashark.cli import main
from datashark.testing import runner
from tests.conftest import REPO

pytestmark = [
    pytest.mark.spark,
    pytest.mark.filterwarnings("ignore:DStream is deprecated:FutureWarning"),
]

SHIPPED_CASES = [
    "PASS web-anomaly-detection/ordinary visitors score low (streaming)",
    "PASS web-anomaly-detection/a vulnerability scanner stands out, a reader does not (streaming)",
    "PASS wordcount/counts lower-cased tokens (batch)",
    "PASS wordcount/blank lines count nothing (batch)",
]

# A streaming use case (without an input: a test needs no Kafka) of two modes: every line one
# finding, scored 0 when its first word is in the training data (slide = 1); or its first word
# counted per window of `slide` seconds, so the findings arrive only every `slide` batches, and
# there is no batch mode (an RDD has no reduceByKeyAndWindow).
STREAM_CODE = """
def load(streamingData, trainingData, context, conf):
    known = set(trainingData.collect())
    slide = int(conf["slide"])
    if slide == 1:
        return streamingData.map(lambda line: (line, 0 if line.split()[0] in known else 1))
    words = streamingData.map(lambda line: (line.split()[0], 1))
    return words.reduceByKeyAndWindow(lambda a, b: a + b, None, slide, slide)
"""
STREAM_CONF = """
name = Stream Echo
type = streaming
code = echo.py
output = csv
training = known.txt
slide = 1
"""
STREAM_CASES = """
- name: every line of every batch
  events: [alpha 1, beta 1, alpha 2, gamma 1, alpha 3]
  expect:
    - {key: alpha 1, score: 1}
    - {key: alpha 2, score: 1}
    - {key: alpha 3, score: 1}
    - {key: beta 1, score: 0}
    - {key: gamma 1, score: 1}
- name: counted per window
  modes: [streaming]
  conf: {slide: 3}
  events: [alpha 1, beta 1, alpha 2, gamma 1, alpha 3]
  batches: 3
  expect:
    - {key: alpha, score: 3}
    - {key: beta, score: 1}
    - {key: gamma, score: 2}
- name: windows in batch mode
  modes: [batch]
  conf: {slide: 3}
  events: [alpha 1]
  expect: none
"""


def datashark_test(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str], str]:
    code = main(["test", *args])
    captured = capsys.readouterr()
    return code, captured.out.splitlines(), captured.err


def test_the_shipped_use_cases_pass(spark_context, capsys: pytest.CaptureFixture[str]) -> None:
    """The two samples' cases (./test.sh runs every use case's cases after pytest)."""
    samples = [REPO / "conf" / "web-anomaly-detection", REPO / "conf" / "wordcount" / "wordcount.conf"]
    code, out, err = datashark_test(capsys, *map(str, samples))
    assert (code, err) == (0, "")
    assert out == [*SHIPPED_CASES, "4 passed, 0 failed"]


def test_a_changed_expectation_fails_with_the_findings_side_by_side(
    spark_context, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    folder = tmp_path / "wordcount"
    shutil.copytree(REPO / "conf" / "wordcount", folder, ignore=shutil.ignore_patterns("output"))
    cases = folder / "tests" / "counts.yml"
    text = cases.read_text()
    assert "{key: the, score: 4}" in text and "{key: end, score: 1}" in text
    cases.write_text(
        text.replace("{key: the, score: 4}", "{key: the, score: 5}").replace("end, score", "fin, score")
    )
    code, out, err = datashark_test(capsys, str(folder / "wordcount.conf"))
    assert (code, err) == (1, "")
    assert out == [
        "FAIL wordcount/counts lower-cased tokens (batch)",
        "                expected           found",
        "    ok          program  score=2   program  2",
        "    ok          licence,  score=1  licence,  1",
        "    differs     the  score=5       the  4   <- score",
        "    missing     fin  score=1       -",
        "    unexpected  -                  end  1",
        "PASS wordcount/blank lines count nothing (batch)",
        "1 passed, 1 failed",
    ]


def test_streaming_cases_get_every_batch_and_wait_for_windows(
    spark_context, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    folder = tmp_path / "echo"
    (folder / "tests").mkdir(parents=True)
    (folder / "echo.py").write_text(STREAM_CODE)
    (folder / "echo.conf").write_text(textwrap.dedent(STREAM_CONF))
    (folder / "known.txt").write_text("beta\n")
    (folder / "tests" / "echo.yml").write_text(STREAM_CASES)
    code, out, err = datashark_test(capsys, str(folder))
    assert (code, err) == (1, "")
    assert out == [
        "PASS echo/every line of every batch (batch)",
        "PASS echo/every line of every batch (streaming)",
        "FAIL echo/counted per window (streaming)",
        "             expected        found",
        "    ok       alpha  score=3  alpha  3",
        "    ok       beta  score=1   beta  1",
        "    differs  gamma  score=2  gamma  1   <- score",
        "FAIL echo/windows in batch mode (batch)",
        "    error: (Stream Echo) - Failed: AttributeError: 'PipelinedRDD' object has no attribute "
        "'reduceByKeyAndWindow' (a DStream-only operation: give the case 'modes: [streaming]' in echo.yml)",
        "2 passed, 2 failed",
    ]


def test_a_streaming_case_stops_at_once_after_its_last_batch(
    spark_context, capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A windowed stream has no job between two slides; the stop must not wait for one."""
    folder = tmp_path / "echo"
    (folder / "tests").mkdir(parents=True)
    (folder / "echo.py").write_text(STREAM_CODE)
    (folder / "echo.conf").write_text(textwrap.dedent(STREAM_CONF).replace("training = known.txt\n", ""))
    (folder / "tests" / "echo.yml").write_text(
        "name: slow windows\nmodes: [streaming]\nconf: {slide: 5}\nevents: [alpha 1]\nbatches: 1\n"
        "expect: [{key: alpha, score: 1}]\n"
    )
    stop_took: list[float] = []
    stream = runner.run_streaming

    def timed_stream(*args, stop_when, **named) -> None:
        asked: list[float] = []

        def when() -> str | None:
            reason = stop_when()
            if reason is not None and not asked:
                asked.append(time.monotonic())
            return reason

        stream(*args, stop_when=when, **named)
        stop_took.append(time.monotonic() - asked[0])

    monkeypatch.setattr(runner, "run_streaming", timed_stream)
    code, out, err = datashark_test(capsys, str(folder))
    assert (code, out, err) == (0, ["PASS echo/slow windows (streaming)", "1 passed, 0 failed"], "")
    [seconds] = stop_took
    assert seconds < 5, f"the stop took {seconds:.1f} s (graceful stop timeout: 10 batches of 1 s)"


def test_a_wrong_case_file_stops_before_spark_with_exit_code_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    folder = tmp_path / "wordcount"
    shutil.copytree(REPO / "conf" / "wordcount", folder, ignore=shutil.ignore_patterns("output"))
    (folder / "tests" / "zz-typo.yml").write_text("name: typo\nevents: [a]\nexpect: [{key: a, scor: 1}]\n")
    (folder / "tests" / "zz-conf.yml").write_text(
        "name: output\nevents: [a]\nexpect: none\nconf: {output: x}\n"
    )
    code, out, err = datashark_test(capsys, str(folder / "wordcount.conf"))
    assert (code, out) == (2, [])
    assert err.splitlines() == [
        f"[X] {folder}/tests/zz-conf.yml: case 'output': key 'conf': 'output' cannot be changed: "
        "the test supplies the events, input and output",
    ]
    (folder / "tests" / "zz-conf.yml").unlink()
    code, out, err = datashark_test(capsys, str(folder / "tests" / "zz-typo.yml"))
    assert (code, out) == (2, [])
    assert err == (
        f"[X] {folder}/tests/zz-typo.yml: case 'typo': key 'expect': finding 1: unknown key 'scor' "
        "(did you mean 'score'?) (known: key, score, score_min, score_max, metadata)\n"
    )


def test_a_batch_use_case_runs_as_a_stream_when_its_case_asks(
    spark_context, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """``modes: [batch, streaming]``: the conf switched to ``type = streaming`` without its ``file``."""
    folder = tmp_path / "wordcount"
    shutil.copytree(REPO / "conf" / "wordcount", folder, ignore=shutil.ignore_patterns("output", "tests"))
    (folder / "tests").mkdir()
    (folder / "tests" / "both.yml").write_text(
        "name: both ways\nmodes: [batch, streaming]\nbatches: 1\nevents: [A b, a]\n"
        "expect: [{key: a, score: 2}, {key: b, score: 1}]\n"
    )
    code, out, err = datashark_test(capsys, str(folder))
    assert (code, err) == (0, "")
    assert out == [
        "PASS wordcount/both ways (batch)",
        "PASS wordcount/both ways (streaming)",
        "2 passed, 0 failed",
    ]


# A use case counting lines per host in hour windows of event time ("<ISO time> <host>" lines).
HOURLY_CODE = """
from datetime import datetime, timedelta

from datashark.detect.measures import count
from datashark.detect.windows import Window, per_entity


def load(streamingData, conf):
    events = streamingData.map(lambda line: dict(zip(("@timestamp", "host"), line.split())))
    timed = events.map(lambda e: {**e, "@timestamp": datetime.fromisoformat(e["@timestamp"])})
    windows = per_entity(timed, "host", Window(timedelta(hours=1)), {"lines": count()}, "hourly")
    return windows.map(lambda w: (w.entity, w.values["lines"]))
"""


def test_each_case_starts_with_no_window_state_of_another(
    spark_context, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Windows keep their state in the checkpoint folder across restarts: a case whose events are
    older than an earlier case's must not find its windows closed by that case."""
    folder = tmp_path / "hourly"
    (folder / "tests").mkdir(parents=True)
    (folder / "hourly.py").write_text(HOURLY_CODE)
    (folder / "hourly.conf").write_text("name = Hourly\ntype = streaming\ncode = hourly.py\noutput = csv\n")
    (folder / "tests" / "hours.yml").write_text(
        "- name: later\n  modes: [streaming]\n  events: [2025-03-03T10:10:00+00:00 web]\n"
        "  expect: [{key: web, score: 1}]\n"
        "- name: earlier\n  modes: [streaming]\n  events: [2025-03-03T09:10:00+00:00 db]\n"
        "  expect: [{key: db, score: 1}]\n"
    )
    code, out, err = datashark_test(capsys, str(folder))
    assert (code, err) == (0, "")
    assert out == ["PASS hourly/later (streaming)", "PASS hourly/earlier (streaming)", "2 passed, 0 failed"]
