"""Helpers for tests that run use cases on Spark or through the shell scripts."""

from __future__ import annotations

import csv
import dataclasses
import os
import shutil
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import REPO

WORDCOUNT_ROWS = 1384
# What out_parquet's files hold, as Spark reads them back: (column, type), the date partition last.
PARQUET_COLUMNS = [
    ("key", "string"),
    ("score", "double"),
    ("title", "string"),
    ("@timestamp", "timestamp"),
    ("metadata", "string"),
    ("date", "date"),
]


def read_csv(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def run_script(script: str, *args: str, cwd: Path, env: dict[str, str] | None = None):
    """Run ./standalone.sh or ./start.sh as a user would, from ``cwd``."""
    return subprocess.run(
        [str(REPO / script), *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def wordcount_copy(tmp_path: Path) -> Path:
    """conf/wordcount copied outside the repo, writing its CSV into the test's folder."""
    folder = tmp_path / "wordcount"
    shutil.copytree(REPO / "conf" / "wordcount", folder)
    conf = folder / "wordcount.conf"
    conf.write_text(conf.read_text().replace("output/usecase1.csv", str(tmp_path / "out.csv")))
    return conf


def stream_while(sc, settings, prepared: list, action: Callable[[], None], *, timeout: float) -> None:
    """Run the streaming use cases for ``timeout`` seconds while ``action`` (dropping files,
    say) runs beside them in a thread."""
    from datashark.run.context import RunContext
    from datashark.run.streaming import run_streaming

    thread = threading.Thread(target=action)
    thread.start()
    try:
        run_streaming(sc, RunContext(settings), prepared, debug=False, timeout=timeout)
    finally:
        thread.join()


def settings_for(tmp_path: Path, home: Path = REPO):
    """The home's settings with dead letters and checkpoints inside the test's folder."""
    from datashark.config.settings import load_settings

    return dataclasses.replace(
        load_settings(home), deadletter_dir=tmp_path / "deadletter", checkpoint_dir=str(tmp_path / "ckpt")
    )


def assert_console_flow(stdout: str, where: str, streaming: str = " * Skip Stream Processing") -> None:
    """The original start.sh's lines, in its order, Cleaning Up last; ``streaming`` is the line
    that starts the streaming part (a `` - Starting <name>``), or says there is none."""
    lines = stdout.rstrip().splitlines()
    flow = [
        f"Running Spark on {where}",
        "Preparing FileSystem",
        "Starting Spark",
        "Loaded Confs: ",
        "App Name: dataShark_",
        " - Written ",
        streaming,
        "Cleaning Up",
    ]
    found = [next((i for i, line in enumerate(lines) if step in line), -1) for step in flow]
    assert -1 not in found and found == sorted(found), dict(zip(flow, found, strict=True))
    assert lines[-1].endswith("Cleaning Up")


def memory_query(findings, name: str, checkpoint: Path):
    """A streaming DataFrame's rows appended to the in-memory table ``name`` (read it with
    ``findings.sparkSession.table(name)``), as a started query."""
    return (
        findings.writeStream.outputMode("append")
        .format("memory")
        .queryName(name)
        .option("checkpointLocation", str(checkpoint))
        .start()
    )


def batch_rows(sc, tmp_path: Path, conf: Path, overrides: dict[str, str] | None = None) -> list[tuple]:
    """The rows a batch run of ``conf`` delivers (its keys changed by ``overrides``), through
    the engine's batch path into an output that keeps them."""
    from datashark.config.usecase import read_usecase
    from datashark.run.batch import run_batch
    from datashark.run.context import RunContext
    from datashark.run.prepare import prepare
    from datashark.testing.collector import Collector

    settings = settings_for(tmp_path)
    usecase = read_usecase(conf)
    usecase.conf.update(overrides or {})
    prepared = prepare(settings, usecase)
    collector = Collector({"title": None, "debug": False}, usecase)
    run_batch(sc, RunContext(settings), dataclasses.replace(prepared, plugin=collector), debug=False)
    return collector.rows
