"""Streaming through the scripts: --timeout, SIGTERM, -d, and start.sh's batch-then-streaming order."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.integration.conftest import WORDCOUNT_ROWS, read_csv, run_script

pytestmark = pytest.mark.spark


def streaming_home(tmp_path: Path) -> Path:
    """A dataShark folder with 1-second batches and one JSON streaming use case."""
    home = tmp_path / "home"
    shutil.copytree(REPO / "plugins", home / "plugins")
    (home / "datashark.conf").write_text("batch.interval = 1\n")
    folder = home / "conf" / "hosts"
    folder.mkdir(parents=True)
    (folder / "hosts.py").write_text(
        "def load(streamingData, trainingData):\n"
        "    return streamingData.map(lambda e: (e['host'], 1)).reduceByKey(lambda a, b: a + b)\n"
    )
    (folder / "training.txt").write_text("{}\n")
    (folder / "hosts.conf").write_text(
        "name = Hosts\ntype = streaming\nenabled = true\ncode = hosts.py\ntraining = training.txt\n"
        f"input = file\nformat = json\noutput = csv\n[in_file]\nfolder_path = {tmp_path / 'in'}\n"
        f"[out_csv]\npath = {tmp_path / 'hosts.csv'}\n"
    )
    return home


def host_events(*hosts: str) -> str:
    return "".join(json.dumps({"host": host}) + "\n" for host in hosts)


def drop_when(started: threading.Event, folder: Path, text: str) -> None:
    """Move a file in once the stream runs (files older than its start are not read)."""
    started.wait(120)
    time.sleep(2)
    staging = folder.parent / "staging.log"
    staging.write_text(text)
    shutil.move(staging, folder / "events.log")


def conf_of(home: Path) -> str:
    return str(home / "conf" / "hosts" / "hosts.conf")


def run_with_drop(script: str, args: list[str], home: Path, text: str, folder: Path | None = None):
    """Run a script to its end, dropping ``text`` as a file once its stream has started.

    Returns the exit code, stdout and stderr.
    """
    process = subprocess.Popen(
        [str(REPO / script), *args],
        cwd=home.parent,
        env={**os.environ, "DATASHARK_HOME": str(home)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    started = threading.Event()
    drop_folder = folder or home.parent / "in"
    threading.Thread(target=drop_when, args=(started, drop_folder, text), daemon=True).start()
    lines = []
    for line in process.stdout:
        lines.append(line)
        if "Input Module" in line:
            started.set()
    err = process.stderr.read()
    return process.wait(60), "".join(lines), err


def test_timeout_stops_gracefully_after_writing(tmp_path: Path) -> None:
    home = streaming_home(tmp_path)
    (tmp_path / "in").mkdir()
    code, out, err = run_with_drop(
        "standalone.sh", ["--timeout", "12", conf_of(home)], home, host_events("a", "a", "b")
    )
    assert code == 0, err
    assert "Stopping streaming (time limit reached)" in out
    assert sorted((row[1], row[2]) for row in read_csv(tmp_path / "hosts.csv")) == [("a", "2"), ("b", "1")]
    left = [path.name for path in (home / "ckpt").glob("*")]
    assert left == ["hosts"], "the run's checkpoint is removed; what in_file read is kept"


@pytest.mark.parametrize("script", ["standalone.sh", "start.sh"])
def test_sigterm_finishes_the_batch_and_exits_cleanly(tmp_path: Path, script: str) -> None:
    """SIGTERM to the whole process group, as a service manager sends it: the driver's JVM must
    ignore it (its shutdown hook would stop Spark under the graceful stop)."""
    home = streaming_home(tmp_path)
    (tmp_path / "in").mkdir()
    process = subprocess.Popen(
        [str(REPO / script), *([conf_of(home)] if script == "standalone.sh" else [])],
        start_new_session=True,
        cwd=tmp_path,
        env={**os.environ, "DATASHARK_HOME": str(home)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    seen: list[str] = []
    started = threading.Event()
    threading.Thread(target=drop_when, args=(started, tmp_path / "in", host_events("x")), daemon=True).start()
    deadline = time.monotonic() + 120
    for line in process.stdout:
        seen.append(line)
        if "Input Module" in line:
            started.set()
        if "Written 1 Documents" in line or time.monotonic() > deadline:
            break
    os.killpg(process.pid, signal.SIGTERM)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    out = "".join(seen) + out
    assert "Stopping streaming (SIGTERM received): finishing the batch in flight" in out
    assert [row[1:] for row in read_csv(tmp_path / "hosts.csv")] == [["x", "1"]]
    assert script == "standalone.sh" or out.rstrip().endswith("Cleaning Up")
    assert "Exception" not in err, "Spark was stopped under the graceful stop"


def test_debug_prints_batches_and_writes_nothing(tmp_path: Path) -> None:
    home = streaming_home(tmp_path)
    (tmp_path / "in").mkdir()
    code, out, err = run_with_drop(
        "standalone.sh", [conf_of(home), "-d", "--timeout", "12"], home, host_events("dbg")
    )
    assert code == 0, err
    assert "Time: " in out and "('dbg', 1)" in out
    assert not (tmp_path / "hosts.csv").exists()


def test_start_runs_batch_use_cases_before_streaming_ones(tmp_path: Path) -> None:
    home = streaming_home(tmp_path)
    shutil.copytree(REPO / "conf" / "wordcount", home / "conf" / "wordcount")
    conf = home / "conf" / "wordcount" / "wordcount.conf"
    conf.write_text(conf.read_text().replace("output/usecase1.csv", str(tmp_path / "wc.csv")))
    result = run_script("start.sh", "--timeout", "8", cwd=tmp_path, env={"DATASHARK_HOME": str(home)})
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert (
        out.index("Written 1384 Documents") < out.index(" - Starting Hosts") < out.index("Stopping streaming")
    )
    assert " * Skip Stream Processing" not in out
    assert len(read_csv(tmp_path / "wc.csv")) == WORDCOUNT_ROWS


def test_web_anomaly_detection_scores_a_dropped_access_log(tmp_path: Path) -> None:
    """The sample use case end to end: training, a dropped log, scored rows, one dead letter."""
    home = tmp_path / "home"
    shutil.copytree(REPO / "plugins", home / "plugins")
    (home / "datashark.conf").write_text("batch.interval = 2\n")
    folder = home / "conf" / "web-anomaly-detection"
    shutil.copytree(REPO / "conf" / "web-anomaly-detection", folder)
    conf = folder / "web-anomaly-detection.conf"
    out = tmp_path / "anomalies.csv"
    conf.write_text(
        conf.read_text()
        .replace("stream_window = 10", "stream_window = 2")
        .replace("output/UseCase-web_anomaly.csv", str(out))
    )
    log = (folder / "access_combined.log").read_text()
    code, stdout, err = run_with_drop(
        "standalone.sh", ["--timeout", "45", str(conf)], home, log, folder=folder / "incoming"
    )
    assert code == 0, err
    rows = read_csv(out)
    assert rows[0][:3] == ["time", "key", "score"]
    assert len(rows) - 1 == 3052, "one row per (IP, minute) of the sample"
    top = max(rows[1:], key=lambda row: float(row[2]))
    assert top[1] == "144.76.95.39"
    dead = [json.loads(line) for path in (home / "deadletter").rglob("*.jsonl") for line in path.open()]
    assert sorted(record["stage"] for record in dead) == ["input", "training"], "line 8899, twice"
    assert "(Web Anomaly Detection) - 1 Dead Letters in " in stdout, "training, reported at start"
    assert "Written 3052 Documents to CSV File" in stdout and "(1 Dead Letters)" in stdout
