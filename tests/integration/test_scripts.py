"""standalone.sh and start.sh as a user runs them: real processes, real Spark, exit codes."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.integration.conftest import WORDCOUNT_ROWS, assert_console_flow, read_csv, run_script

WRITTEN = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d - \(Word Count\) - Written 1384 Documents to CSV File (.+)$", re.M
)


@pytest.mark.spark
def test_standalone_runs_a_conf_outside_conf_from_any_directory(wordcount_copy: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    relative = os.path.relpath(wordcount_copy, elsewhere)
    result = run_script("standalone.sh", relative, cwd=elsewhere)
    assert result.returncode == 0, result.stderr
    assert "STANDALONE MODE" in result.stdout
    assert f"Loaded Confs: ['{relative}']" in result.stdout
    assert WRITTEN.search(result.stdout)[1] == str(tmp_path / "out.csv")
    assert len(read_csv(tmp_path / "out.csv")) == WORDCOUNT_ROWS
    assert "INFO" not in result.stderr, "Spark's INFO logging should be off by default"


@pytest.mark.spark
@pytest.mark.parametrize("flag_first", [True, False], ids=["-d CONF", "CONF -d"])
def test_standalone_debug_prints_results_and_writes_nothing(
    wordcount_copy: Path, tmp_path: Path, flag_first: bool
) -> None:
    args = ["-d", str(wordcount_copy)] if flag_first else [str(wordcount_copy), "-d"]
    result = run_script("standalone.sh", *args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "[*] Debug Mode is ON" in result.stderr
    assert "('all', 20)" in result.stdout and "('those', 14)" in result.stdout
    assert not (tmp_path / "out.csv").exists()


def test_standalone_missing_data_file_is_a_config_error(wordcount_copy: Path, tmp_path: Path) -> None:
    (wordcount_copy.parent / "wordcount.txt").unlink()
    result = run_script("standalone.sh", str(wordcount_copy), cwd=tmp_path)
    assert result.returncode == 2
    assert f"[X] {wordcount_copy}: key 'file': no such file or directory:" in result.stderr


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (("output = csv\n", ""), "key 'output' is required but missing"),
        (("code = wordcount.py\n", ""), "key 'code' is required (the Python file with load())"),
        (("output = csv", "output = kafkaa"), "key 'output': unknown output plugin 'kafkaa'"),
    ],
    ids=["missing-key", "missing-code", "unknown-output"],
)
def test_standalone_bad_conf_is_one_line_naming_file_and_key(
    wordcount_copy: Path, tmp_path: Path, edit: tuple[str, str], message: str
) -> None:
    wordcount_copy.write_text(wordcount_copy.read_text().replace(*edit))
    result = run_script("standalone.sh", str(wordcount_copy), cwd=tmp_path)
    assert result.returncode == 2
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("[X]")]
    assert error_lines == [f"[X] {wordcount_copy}: {message}" + error_lines[0].split(message, 1)[1]]


def test_standalone_without_a_conf_is_a_usage_error(tmp_path: Path) -> None:
    result = run_script("standalone.sh", cwd=tmp_path)
    assert result.returncode == 2
    assert "usage:" in result.stderr


def make_home(tmp_path: Path) -> Path:
    """A dataShark folder with the repo's plugins and three use cases: good, failing, broken."""
    home = tmp_path / "home"
    (home / "conf").mkdir(parents=True)
    shutil.copytree(REPO / "plugins", home / "plugins")
    shutil.copytree(REPO / "conf" / "wordcount", home / "conf" / "wordcount")
    conf = home / "conf" / "wordcount" / "wordcount.conf"
    conf.write_text(conf.read_text().replace("output/usecase1.csv", str(tmp_path / "out.csv")))
    failing = home / "conf" / "failing"
    failing.mkdir()
    (failing / "failing.py").write_text(
        "def load(batchData):\n    return batchData.map(lambda x: (x, 1 / 0))\n"
    )
    (failing / "data.txt").write_text("x\n")
    (failing / "failing.conf").write_text(
        "name = Failing\ntype = batch\nenabled = TRUE\ncode = failing.py\nfile = data.txt\noutput = csv\n"
    )
    disabled = home / "conf" / "disabled"
    shutil.copytree(failing, disabled)
    (disabled / "failing.conf").write_text((failing / "failing.conf").read_text().replace("TRUE", "false"))
    return home


@pytest.mark.spark
def test_start_runs_enabled_use_cases_and_reports_the_failing_one(tmp_path: Path) -> None:
    home = make_home(tmp_path)
    result = run_script("start.sh", cwd=tmp_path, env={"DATASHARK_HOME": str(home)})
    assert result.returncode == 1, result.stderr
    assert "PRODUCTION MODE" in result.stdout
    assert "Running Spark on Local Machine" in result.stdout
    loaded = sorted(
        str(home / "conf" / name) for name in ("failing/failing.conf", "wordcount/wordcount.conf")
    )
    assert f"Loaded Confs: {loaded}" in result.stdout
    assert re.search(r"^App Name: dataShark_[0-9A-F-]{36}$", result.stdout, re.M)
    assert WRITTEN.search(result.stdout)
    assert_console_flow(result.stdout, "Local Machine")
    assert "[X] (Failing) - Failed: ZeroDivisionError: division by zero" in result.stderr
    assert len(read_csv(tmp_path / "out.csv")) == WORDCOUNT_ROWS


def test_start_refuses_to_start_with_a_broken_enabled_conf(tmp_path: Path) -> None:
    """Checked like ``datashark validate``, before Spark: nothing runs, exit 2. A broken conf that
    says ``enabled = false`` is left alone."""
    home = make_home(tmp_path)
    shutil.rmtree(home / "conf" / "failing")
    (home / "conf" / "broken").mkdir()
    (home / "conf" / "broken" / "broken.conf").write_text("name = Broken\nenabled = true\n")
    (home / "conf" / "disabled" / "failing.conf").write_text("name = Off\nenabled = false\n")
    result = run_script("start.sh", cwd=tmp_path, env={"DATASHARK_HOME": str(home)})
    assert result.returncode == 2, result.stderr
    problems = [line for line in result.stderr.splitlines() if line.startswith("[X] Could not load:")]
    assert len(problems) == 1, result.stderr
    assert problems[0].startswith(f"[X] Could not load: {home / 'conf' / 'broken' / 'broken.conf'}: ")
    assert "key 'type' is required but missing" in problems[0]
    assert "[X] not starting: 1 conf(s) above need fixing (or enabled = false)" in result.stderr
    assert "Starting Spark" not in result.stdout and not (tmp_path / "out.csv").exists()


def test_start_refuses_to_start_with_no_enabled_use_case(tmp_path: Path) -> None:
    home = make_home(tmp_path)
    for name in ("failing", "wordcount"):
        shutil.rmtree(home / "conf" / name)
    result = run_script("start.sh", cwd=tmp_path, env={"DATASHARK_HOME": str(home)})
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        f"[X] not starting: no use case is enabled (set enabled = true in {home}/conf/*/*.conf)"
    )


@pytest.mark.spark
def test_ctrl_c_during_a_batch_use_case_stops_and_cleans_up(tmp_path: Path) -> None:
    home = make_home(tmp_path)
    (home / "conf" / "failing" / "failing.py").write_text(
        "import time\n\n\ndef load(batchData):\n"
        "    return batchData.map(lambda x: (time.sleep(120), (x, 1))[1])\n"
    )
    process = subprocess.Popen(
        [str(REPO / "start.sh")],
        cwd=tmp_path,
        env={**os.environ, "DATASHARK_HOME": str(home)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        for line in process.stdout:
            if line.startswith("App Name: "):
                break
        time.sleep(5)  # the sleeping job is running
        os.killpg(process.pid, signal.SIGINT)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 130, err
    assert out.rstrip().endswith("Cleaning Up")
    assert "[X] stopped (SIGINT received) before every use case had run" in err
    assert not (tmp_path / "out.csv").exists(), "wordcount (after the interrupted one) did not run"


def test_validate_checks_confs_without_spark(tmp_path: Path) -> None:
    home = make_home(tmp_path)
    (home / "conf" / "disabled" / "failing.conf").write_text("name = x\ntype = sometimes\n")
    result = run_script("bin/datashark", "validate", cwd=tmp_path, env={"DATASHARK_HOME": str(home)})
    assert result.returncode == 2
    assert (
        f"OK   {home / 'conf' / 'wordcount' / 'wordcount.conf'} (Word Count, batch, enabled)" in result.stdout
    )
    assert "key 'type': the value \"sometimes\" is unacceptable. (allowed: batch, streaming)" in result.stderr
