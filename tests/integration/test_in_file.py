"""``input = file`` on the session SparkContext: old files, files already there, restarts, bytes."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import stat
import time
from pathlib import Path

import pytest

from datashark.config.usecase import read_usecase
from datashark.run.prepare import prepare
from tests.integration.conftest import read_csv, settings_for, stream_while

pytestmark = pytest.mark.spark

A_YEAR = 365 * 24 * 3600
EACH_LINE = "def load(streamingData, trainingData):\n    return streamingData.map(lambda line: (line, 1))\n"


def file_usecase(folder: Path, *, existing: str | None = None) -> Path:
    """A streaming use case writing each text line it reads as a CSV row of ``folder/out.csv``."""
    folder.mkdir(parents=True)
    (folder / "uc.py").write_text(EACH_LINE)
    (folder / "training.txt").write_text("x\n")
    conf = folder / "uc.conf"
    option = f"existing = {existing}\n" if existing else ""
    conf.write_text(
        "name = Lines\ntype = streaming\ncode = uc.py\ntraining = training.txt\ninput = file\n"
        f"output = csv\n[in_file]\nfolder_path = incoming\n{option}"
        "[out_csv]\npath = out.csv\nmode = append\n"
    )
    return conf


def move_in(folder: Path, name: str, content: bytes, *, age: float = 0) -> None:
    """Write elsewhere, date it ``age`` seconds back, then move it in as a user would."""
    staging = folder.parent / f"staging-{name}"
    staging.write_bytes(content)
    then = time.time() - age
    os.utime(staging, (then, then))
    shutil.move(staging, folder / name)


def run(sc, tmp_path: Path, conf: Path, action=lambda: None, *, timeout: float = 5) -> None:
    settings = dataclasses.replace(settings_for(tmp_path), batch_interval=1)
    stream_while(sc, settings, [prepare(settings, read_usecase(conf))], action, timeout=timeout)


def later(seconds: float, action):
    def delayed() -> None:
        time.sleep(seconds)
        action()

    return delayed


def keys(conf: Path) -> list[str]:
    out = conf.parent / "out.csv"
    return sorted(row[1] for row in read_csv(out)) if out.exists() else []


def state_path(tmp_path: Path) -> Path:
    return tmp_path / "ckpt" / "lines" / "in_file-seen.json"


def test_a_year_old_file_moved_in_while_running_is_read(spark_context, tmp_path: Path) -> None:
    conf = file_usecase(tmp_path / "uc")
    incoming = conf.parent / "incoming"
    moved = later(2.5, lambda: move_in(incoming, "old.log", b"a\nb\n", age=A_YEAR))
    run(spark_context, tmp_path, conf, moved)
    assert keys(conf) == ["a", "b"]


@pytest.mark.parametrize(("existing", "expected"), [(None, ["new"]), ("read", ["new", "old"])])
def test_files_there_at_the_first_start_are_skipped_or_read(
    spark_context, tmp_path: Path, existing: str | None, expected: list[str]
) -> None:
    conf = file_usecase(tmp_path / "uc", existing=existing)
    incoming = conf.parent / "incoming"
    incoming.mkdir()
    move_in(incoming, "before.log", b"old\n", age=A_YEAR)
    run(spark_context, tmp_path, conf, later(2.5, lambda: move_in(incoming, "during.log", b"new\n")))
    assert keys(conf) == expected


def test_a_restart_neither_reads_again_nor_skips_what_arrived_while_stopped(
    spark_context, tmp_path: Path
) -> None:
    conf = file_usecase(tmp_path / "uc", existing="read")
    incoming = conf.parent / "incoming"
    incoming.mkdir()
    move_in(incoming, "first.log", b"first\n")
    run(spark_context, tmp_path, conf)
    assert keys(conf) == ["first"]
    move_in(incoming, "stopped.log", b"stopped\n", age=A_YEAR)
    (incoming / "first.log").touch()  # same size, new time: a replaced file is read again
    run(spark_context, tmp_path, conf, later(2.5, lambda: move_in(incoming, "second.log", b"second\n")))
    assert keys(conf) == ["first", "first", "second", "stopped"]
    run(spark_context, tmp_path, conf, timeout=3)
    assert keys(conf) == ["first", "first", "second", "stopped"]


def test_a_line_that_is_not_utf8_is_a_dead_letter(spark_context, tmp_path: Path) -> None:
    conf = file_usecase(tmp_path / "uc")
    incoming = conf.parent / "incoming"
    content = "café\n".encode() + b"caf\xe9\r\n" + b"last"
    run(spark_context, tmp_path, conf, later(2.5, lambda: move_in(incoming, "mixed.log", content)))
    assert keys(conf) == ["café", "last"]
    (record,) = [
        json.loads(line) for path in (tmp_path / "deadletter").rglob("*.jsonl") for line in path.open()
    ]
    assert "UTF-8" in record["reason"] and record["stage"] == "input"
    assert record["event"] == "caf\\xe9"


def test_the_state_is_private_and_skips_files_being_written(spark_context, tmp_path: Path) -> None:
    conf = file_usecase(tmp_path / "uc")
    incoming = conf.parent / "incoming"

    def drop() -> None:
        for name in (".hidden", "_part", "big.log._COPYING_", "x.tmp"):
            (incoming / name).write_text("partial\n")
        move_in(incoming, "done.log", b"done\n")

    run(spark_context, tmp_path, conf, later(2.5, drop))
    assert keys(conf) == ["done"]
    state = state_path(tmp_path)
    assert stat.S_IMODE(state.stat().st_mode) == 0o600
    assert stat.S_IMODE(state.parent.stat().st_mode) == 0o700
    assert sorted(json.loads(state.read_text())["files"]) == ["done.log"]
