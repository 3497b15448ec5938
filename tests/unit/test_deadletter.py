"""The dead-letter store on the driver: private files, the daily cap, retention, the accumulator."""

from __future__ import annotations

import json
import os
import pickle
import stat
import threading
from datetime import date, timedelta
from pathlib import Path
from typing import ClassVar

import pytest
from pyspark.accumulators import Accumulator

from datashark.errors import UseCaseError
from datashark.events import deadletter
from datashark.events.deadletter import DeadLetters, Letters, RejectedRowsOverflowError, _Collected


class DriverOnly:
    """Just enough of a SparkContext for the store: an accumulator on the driver."""

    def accumulator(self, value, param):
        return Accumulator(0, value, param)


def store(folder: Path, **policy) -> DeadLetters:
    return DeadLetters(DriverOnly(), folder, "Brute Force", **policy)


def records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_files_are_private_and_folders_too(tmp_path):
    letters = store(tmp_path / "dl")
    letters.add("input", "not JSON", "{oops")
    assert str(letters.flush()) == "1 Dead Letters"
    assert stat.S_IMODE(letters.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(letters.folder.stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "dl").stat().st_mode) == 0o700
    assert records(letters.path)[0]["event"] == "{oops"


def test_a_symbolic_link_at_the_file_is_refused_and_its_target_untouched(tmp_path):
    letters = store(tmp_path)
    letters.folder.mkdir(parents=True)
    target = tmp_path / "elsewhere"
    target.write_text("mine\n")
    letters.path.symlink_to(target)
    letters.add("input", "bad", "x")
    with pytest.raises(UseCaseError, match="symbolic link"):
        letters.flush()
    assert target.read_text() == "mine\n"


def test_past_the_daily_cap_dead_letters_are_counted_not_kept(tmp_path):
    letters = store(tmp_path, max_bytes_per_day=1000)
    for number in range(50):
        letters.add("input", "bad", f"event {number}")
    flushed = letters.flush()
    assert (flushed.count, flushed.not_kept) == (50, 50 - len(records(letters.path)))
    assert 0 < len(records(letters.path)) < 50
    assert letters.path.stat().st_size <= 1000
    assert str(flushed) == f"50 Dead Letters, {flushed.not_kept} over today's cap not kept"
    letters.add("input", "bad", "one more")
    assert letters.flush().not_kept == 1, "the cap holds across batches: it is the file's size"


def test_retention_removes_older_days_only(tmp_path):
    letters = store(tmp_path, retention_days=2)
    letters.folder.mkdir(parents=True)
    today = date.today()
    days = {today - timedelta(days=back): back for back in (1, 2, 30)}
    for day in days:
        (letters.folder / f"{day.isoformat()}.jsonl").write_text("{}\n")
    (letters.folder / "notes.txt").write_text("kept\n")
    letters.add("input", "bad", "x")
    letters.flush()
    left = sorted(path.name for path in letters.folder.iterdir())
    yesterday = f"{(today - timedelta(days=1)).isoformat()}.jsonl"
    assert left == sorted([yesterday, letters.path.name, "notes.txt"])


def test_a_torn_last_line_is_cut_before_appending(tmp_path):
    """A full disk can cut a line; its batch failed and comes again, so the piece goes."""
    letters = store(tmp_path)
    letters.add("input", "bad", "first")
    letters.flush()
    with open(letters.path, "a") as out:
        out.write('{"usecase": "Brute')
    letters.add("input", "bad", "second")
    letters.flush()
    assert [record["event"] for record in records(letters.path)] == ["first", "second"]


def test_output_rejections_past_the_batch_cap_fail_the_batch(tmp_path, monkeypatch):
    monkeypatch.setattr(deadletter, "MAX_KEPT_PER_BATCH", 3)
    letters = store(tmp_path)
    for number in range(5):
        letters.add("input", "bad", number)
    assert letters.flush().count == 5, "input dead letters past the cap are counted, the batch goes on"
    for number in range(5):
        letters.add("output", "mapping conflict", number)
    with pytest.raises(RejectedRowsOverflowError, match="rejected 2 more rows"):
        letters.flush()
    assert len(records(letters.path)) == 6, "what fitted is stored before the batch fails"


def test_an_executors_value_merges_in_place_and_travels_without_its_lock():
    param = _Collected()
    on_executor = param.zero(None)
    for number in range(3):
        on_executor = param.addInPlace(on_executor, deadletter._OneLetter(f"r{number}", "input"))
    shipped = pickle.loads(pickle.dumps(on_executor))
    on_driver = Letters()
    assert param.addInPlace(on_driver, shipped) is on_driver
    assert on_driver.take() == (3, ["r0", "r1", "r2"], 0)
    assert on_driver.take() == (0, [], 0)


def test_take_loses_no_update_merged_at_the_same_time():
    """Spark's accumulator thread merges tasks' values while a streaming job flushes."""
    on_driver, param = Letters(), _Collected()
    one_task = Letters()
    one_task.record("r", "input")
    taken = 0

    def merge_many():
        for _ in range(20_000):
            param.addInPlace(on_driver, one_task)

    merger = threading.Thread(target=merge_many)
    merger.start()
    while merger.is_alive():
        taken += on_driver.take()[0]
    merger.join()
    assert taken + on_driver.take()[0] == 20_000


def test_the_use_case_conf_overrides_the_global_policy(tmp_path):
    from datashark.events.deadletter import dead_letters_for

    class Settings:
        deadletter_dir = tmp_path
        deadletter_max_bytes_per_day = 100
        deadletter_retention_days = 7

    class UseCase:
        name = "uc"
        conf: ClassVar = {"deadletter.max.bytes.per.day": 0, "deadletter.retention.days": None}

    letters = dead_letters_for(DriverOnly(), Settings, UseCase)
    assert (letters.max_bytes_per_day, letters.retention_days) == (0, 7)


def test_umask_does_not_widen_the_modes(tmp_path):
    old = os.umask(0)
    try:
        letters = store(tmp_path / "dl")
        letters.add("input", "bad", "x")
        letters.flush()
    finally:
        os.umask(old)
    assert stat.S_IMODE(letters.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(letters.folder.stat().st_mode) == 0o700


def test_every_record_is_one_line_to_any_reader(tmp_path):
    letters = store(tmp_path)
    letters.add("input", "bad", "a\u2028b\x85c\u2029d\ne\x1cf")
    letters.flush()
    text = letters.path.read_text()
    assert len(text.splitlines()) == 1
    assert records(letters.path)[0]["event"] == "a\u2028b\x85c\u2029d\ne\x1cf"
