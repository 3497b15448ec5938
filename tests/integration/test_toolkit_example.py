"""The worked example of docs/detection-toolkit.md, as a new user follows it: the files its blocks
name, written into a fresh home, then ``bin/datashark test conf/ssh-guessing/ssh-guessing.conf``
run in this process (on the session's SparkContext). Its output must be the page's, PASS and then,
once an expectation is changed, FAIL with the findings side by side."""

from __future__ import annotations

import re
import shutil
from datetime import datetime, timezone
from pathlib import Path

import pytest
import yaml  # type: ignore[import-untyped]

from datashark.errors import ConfLocation
from datashark.events.parsing import EventParser
from tests.conftest import REPO
from tests.integration.test_datashark_test import datashark_test

pytestmark = [
    pytest.mark.spark,
    pytest.mark.filterwarnings("ignore:DStream is deprecated:FutureWarning"),
]

PAGE = REPO / "docs" / "detection-toolkit.md"
FOLDER = "conf/ssh-guessing"
CONF = f"{FOLDER}/ssh-guessing.conf"
COMMAND = f"$ bin/datashark test {CONF}"
BLOCK = re.compile(r"^```\w*\n(.*?)^```", re.S | re.M)
FILE_NAMED = re.compile(rf"# ({re.escape(FOLDER)}/\S+)\n")
PASSED = [
    "PASS ssh-guessing/one address tries five user names in ten minutes (batch)",
    "PASS ssh-guessing/a user who mistypes a password is no guessing (batch)",
    "2 passed, 0 failed",
]


def blocks() -> list[str]:
    return BLOCK.findall(PAGE.read_text(encoding="utf-8"))


def example_files() -> dict[str, str]:
    """The page's blocks whose first line names a file of the use case's folder, by that name."""
    files: dict[str, str] = {}
    for block in blocks():
        named = FILE_NAMED.match(block)
        if named:
            assert named[1] not in files, f"two blocks of the page start with # {named[1]}"
            files[named[1]] = block
    return files


def shown_runs() -> list[list[str]]:
    """What the page shows the command printing, once per block that starts with the command."""
    return [block.splitlines()[1:] for block in blocks() if block.startswith(COMMAND + "\n")]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A home as a user has it, with the page's use case written in, as the working folder."""
    home = tmp_path / "home"
    shutil.copytree(REPO / "plugins", home / "plugins")
    shutil.copy(REPO / "datashark.conf", home / "datashark.conf")
    for name, text in example_files().items():
        (home / name).parent.mkdir(parents=True, exist_ok=True)
        (home / name).write_text(text, encoding="utf-8")
    shutil.copy(REPO / "tests" / "data" / "auth.log", home / FOLDER / "auth.log")
    monkeypatch.setenv("DATASHARK_HOME", str(home))
    monkeypatch.chdir(home)
    return home


def test_the_page_names_every_file_of_the_example() -> None:
    assert sorted(example_files()) == [
        f"{FOLDER}/patterns/sshd.grok",
        f"{FOLDER}/ssh-guessing.conf",
        f"{FOLDER}/ssh-guessing.py",
        f"{FOLDER}/tests/guessing.yml",
        f"{FOLDER}/tests/mistyped.yml",
    ]
    assert len(shown_runs()) == 2


def test_the_example_passes_then_fails_with_a_diff_once_an_expectation_changes(
    spark_context, capsys: pytest.CaptureFixture[str], home: Path
) -> None:
    passing, failing = shown_runs()
    assert passing == PASSED

    code, out, err = datashark_test(capsys, CONF)
    assert (code, err) == (0, "")
    assert out == passing

    cases = home / FOLDER / "tests" / "guessing.yml"
    text = cases.read_text(encoding="utf-8")
    assert text.count("score: 5\n") == 1
    cases.write_text(text.replace("score: 5\n", "score: 6\n"), encoding="utf-8")
    code, out, err = datashark_test(capsys, CONF)
    assert (code, err) == (1, "")
    assert out == failing
    assert out[0] == "FAIL ssh-guessing/one address tries five user names in ten minutes (batch)"
    window = "window_start=2025-03-03T10:00:00+00:00"
    assert out[1].split()[:5] == ["differs", "expected", "203.0.113.9", "score=6", window]
    assert out[2].split()[:3] == ["found", "203.0.113.9", "5"] and out[2].endswith("<- score")
    assert out[3:] == [PASSED[1], "1 passed, 1 failed"]


def test_the_same_load_finds_the_same_as_a_stream(
    spark_context, capsys: pytest.CaptureFixture[str], home: Path
) -> None:
    """The page says: type = streaming and no file, and the same load() finds the same rows."""
    conf = home / CONF
    text = conf.read_text(encoding="utf-8")
    assert "type = batch\n" in text and "file = auth.log\n" in text
    conf.write_text(text.replace("type = batch\n", "type = streaming\n").replace("file = auth.log\n", ""))
    code, out, err = datashark_test(capsys, CONF)
    assert (code, err) == (0, "")
    streamed = [line.replace("(streaming)", "(batch)") for line in out if line.endswith("(streaming)")]
    assert streamed == PASSED[:2]
    assert all(line.startswith("PASS ") for line in out[:-1]) and out[-1].endswith(" passed, 0 failed")


def test_the_pattern_file_gives_the_fields_of_the_conf_pattern(home: Path) -> None:
    """The page's own pattern file, used as it says (grok_patterns_dir = patterns)."""
    conf_pattern = re.search(r"^grok_pattern = '(.*)'$", (home / CONF).read_text(), re.M)
    assert conf_pattern is not None
    where = ConfLocation(str(home / CONF))
    case = yaml.safe_load((home / FOLDER / "tests" / "guessing.yml").read_text(encoding="utf-8"))
    line = case["events"][2]
    when = datetime(2025, 3, 20, tzinfo=timezone.utc)
    inline = EventParser("syslog", where=where, grok_pattern=conf_pattern[1]).parse(line, when)
    from_file = EventParser(
        "syslog", where=where, grok_pattern="%{SSHD_FAILED}", grok_patterns_dir=home / FOLDER / "patterns"
    ).parse(line, when)
    assert from_file == inline
    assert (inline["user"], inline["src_ip"], inline["src_port"]) == ("admin", "203.0.113.9", 50130)
    assert inline["@timestamp"] == datetime(2025, 3, 3, 10, 0, 9, tzinfo=timezone.utc)
