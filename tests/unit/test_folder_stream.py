"""The folder stream's pure parts: which files are new, lines from bytes, Hadoop input paths, state."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from datashark.errors import ConfigError
from datashark.events.whole_files import FileRecords
from datashark.files.folder_stream import (
    ListedFile,
    SeenFiles,
    document,
    hadoop_inputs,
    is_complete,
    readable,
    seen_in,
    state_location,
)
from datashark.files.state_file import StateFile


def listed(name: str, size: int = 10, mtime: int = 1) -> ListedFile:
    return ListedFile(name, f"file:/in/{name}", size, mtime)


def test_a_file_is_taken_once_and_again_when_it_changes() -> None:
    files = SeenFiles({"old.log": (10, 1)})
    files.consumers.add("A")
    assert [f.name for f in files.take([listed("old.log"), listed("new.log")], 1)] == ["new.log"]
    assert files.take([listed("old.log"), listed("new.log")], 2) == []
    assert [f.name for f in files.take([listed("old.log", size=11), listed("new.log")], 3)] == ["old.log"]


def test_files_are_seen_once_every_consumer_delivered_their_batch() -> None:
    files = SeenFiles({})
    files.consumers.update({"A", "B"})
    files.take([listed("1.log")], 1)
    files.take([listed("1.log"), listed("2.log")], 2)
    assert not files.delivered("A", 2)
    assert files.delivered("B", 2)
    assert files.seen == {"2.log": (10, 1)}
    files.failed(1)
    assert not files.delivered("A", 1) and not files.delivered("B", 1)
    assert "1.log" not in files.seen, "a failed batch's files are read again at the next start"


def test_files_gone_from_the_folder_are_forgotten() -> None:
    files = SeenFiles({"gone.log": (1, 1)})
    files.consumers.add("A")
    files.take([listed("new.log")], 1)
    assert files.delivered("A", 1)
    assert files.seen == {"new.log": (10, 1)}


def test_a_debug_run_records_no_batches() -> None:
    files = SeenFiles({})
    assert [f.name for f in files.take([listed("a.log")], 1)] == ["a.log"]
    assert files.batches == {}


@pytest.mark.parametrize("name", [".x.log", "_SUCCESS", "a.log._COPYING_", "a.tmp"])
def test_names_of_files_being_written_wait(name: str) -> None:
    assert not is_complete(name)
    assert is_complete("auth.log")


def test_lines_split_on_newlines_and_bytes_stay_bytes_when_not_utf8() -> None:
    content = "é\r\n".encode() + b"\n" + b"bad\xff\n" + b"last"
    assert list(FileRecords("text")(("p", content))) == ["é", "", b"bad\xff", "last"]
    assert list(FileRecords("text")(("p", b""))) == []


def test_hadoop_inputs_name_exactly_the_files() -> None:
    uris = ["file:/in/a.log", "file:/in/b[1].log", "file:/in/x,y.log", "file:/in/q{.log"]
    assert hadoop_inputs(uris) == [
        "file:/in/a.log,file:/in/b\\[1\\].log",
        "file:/in/{x\\,y.log}",
        "file:/in/q\\{.log",
    ]
    assert not readable("file:/a,b/x.log") and not readable("file:/in/{a,b}.log")


def test_state_records_its_folder() -> None:
    stored = document("/in", {"a.log": (1, 2)})
    assert seen_in(stored, "/in", "s.json") == {"a.log": (1, 2)}
    assert seen_in(stored, "/elsewhere", "s.json") is None
    with pytest.raises(ConfigError, match=r"^s.json: not a dataShark in_file state"):
        seen_in({"files": []}, "/in", "s.json")
    with pytest.raises(ConfigError, match=r"^s.json: unreadable in_file state"):
        seen_in({**stored, "files": {"a": 3}}, "/in", "s.json")


def test_the_state_location_is_stable_per_use_case() -> None:
    assert state_location("hdfs://nn:8020/ckpt/", "SSH Brute Force") == (
        "hdfs://nn:8020/ckpt/ssh-brute-force/in_file-seen.json"
    )


def test_a_local_state_file_is_private_and_replaced_whole(tmp_path: Path) -> None:
    location = tmp_path / "ckpt" / "uc" / "in_file-seen.json"
    state = StateFile(None, str(location))
    assert state.load() is None
    state.save({"n": 1})
    state.save({"n": 2})
    assert state.load() == {"n": 2}
    assert stat.S_IMODE(location.stat().st_mode) == 0o600
    assert stat.S_IMODE(location.parent.stat().st_mode) == 0o700
    assert [path.name for path in location.parent.iterdir()] == ["in_file-seen.json"]
