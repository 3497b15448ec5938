"""What a new user sees through standalone.sh when load() raises, when every row it returns is
invalid, and with -d: a few lines naming their code, not Spark's stacks or "no data"."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from datashark import console
from tests.integration.conftest import run_script

pytestmark = pytest.mark.spark

FAILED = "[X] (SSH Brute Force) - Failed: IndexError: list index out of range"
RAISING_CODE = """\
def parse(line):
    fields = line.split()
    return (fields[3], 1.0)


def load(batchData):
    return batchData.map(parse)
"""
SWAPPED_CODE = """\
def load(batchData):
    return batchData.map(lambda line: (len(line), line, {}))
"""


def usecase(tmp_path: Path, name: str, code: str) -> Path:
    """A batch use case in its own folder over three events, the second one short, writing CSV."""
    folder = tmp_path / "uc"
    folder.mkdir()
    (folder / "uc.py").write_text(code)
    (folder / "events.log").write_text("sshd 1 from 10.0.0.1\nshort\nsshd 2 from 10.0.0.2\n")
    conf = folder / "uc.conf"
    conf.write_text(
        f"name = {name}\ntype = batch\nenabled = true\ncode = uc.py\nfile = events.log\noutput = csv\n"
        f"[out_csv]\npath = {tmp_path / 'out.csv'}\n"
    )
    return conf


def run(tmp_path: Path, *args: str):
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    return run_script("standalone.sh", *args, cwd=tmp_path, env={"DATASHARK_HOME": str(home)})


def after_banner(stdout: str) -> list[str]:
    banner = console.banner("STANDALONE MODE")
    assert stdout.startswith(banner)
    return stdout[len(banner) :].splitlines()


def test_a_raising_load_is_a_short_error_naming_the_users_line(tmp_path: Path) -> None:
    result = run(tmp_path, str(usecase(tmp_path, "SSH Brute Force", RAISING_CODE)))
    assert result.returncode == 1, result.stderr
    errors = result.stderr.splitlines()
    assert errors[-1] == FAILED
    assert errors[-2] == "    at uc.py:3 in parse: return (fields[3], 1.0)"
    printed = after_banner(result.stdout) + errors
    assert len(printed) < 15, "\n".join(printed)
    assert "org.apache.spark" not in result.stderr and "Traceback" not in result.stderr


def test_a_raising_load_with_verbose_shows_sparks_story_too(tmp_path: Path) -> None:
    result = run(tmp_path, "-v", str(usecase(tmp_path, "SSH Brute Force", RAISING_CODE)))
    assert result.returncode == 1, result.stderr
    assert result.stderr.splitlines()[-1] == FAILED
    assert "WARN TaskSetManager: Lost task" in result.stderr, "Spark's log of the failed task"
    assert "\tat org.apache.spark." in result.stderr and "Traceback (most recent call last):" in result.stderr
    assert len(result.stderr.splitlines()) > 50


def test_rows_all_dead_lettered_are_not_no_data(tmp_path: Path) -> None:
    result = run(tmp_path, str(usecase(tmp_path, "All Swapped", SWAPPED_CODE)))
    assert result.returncode == 0, result.stderr
    path = tmp_path / "home" / "deadletter" / "all-swapped" / f"{datetime.date.today()}.jsonl"
    lines = after_banner(result.stdout)
    announced = [line for line in lines if "Dead letters of" in line]
    assert len(announced) == 1 and announced[0].endswith(f" Dead letters of (All Swapped) go to {path}")
    assert lines[-1].endswith(
        f" - (All Swapped) - 0 of 3 rows written to CSV File {tmp_path / 'out.csv'}: "
        f"all dead-lettered (3 Dead Letters), see {path}"
    )
    assert "No RDD Data Received" not in result.stdout
    assert len(path.read_text().splitlines()) == 3


def test_debug_marks_the_rows_the_output_would_reject(tmp_path: Path) -> None:
    result = run(tmp_path, "-d", str(usecase(tmp_path, "All Swapped", SWAPPED_CODE)))
    assert result.returncode == 0, result.stderr
    lines = after_banner(result.stdout)
    assert lines[-4:] == [
        "[]",
        "[bad row: key is int, not str] (20, 'sshd 1 from 10.0.0.1', {})",
        "[bad row: key is int, not str] (5, 'short', {})",
        "[bad row: key is int, not str] (20, 'sshd 2 from 10.0.0.2', {})",
    ]
    assert not (tmp_path / "out.csv").exists()
