"""Batch use cases on a real local SparkContext, driven through the engine."""

from __future__ import annotations

import os
import re
import textwrap
from pathlib import Path

import pytest

from datashark.config.usecase import read_usecase
from datashark.errors import UseCaseError
from datashark.run.batch import run_batch
from datashark.run.context import RunContext
from datashark.run.prepare import prepare
from tests.integration.conftest import WORDCOUNT_ROWS, read_csv, settings_for
from tests.support.runs import run_conf

pytestmark = pytest.mark.spark


def make_usecase(folder: Path, code: str, data: str, out: str = "") -> Path:
    """A batch use case in ``folder`` with the given code and data; CSV output to out.csv."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "uc.py").write_text(textwrap.dedent(code))
    (folder / "data.txt").write_text(data)
    conf = folder / "uc.conf"
    conf.write_text(
        "name = Test Case\ntype = batch\ncode = uc.py\nfile = data.txt\noutput = csv\n"
        f"[out_csv]\npath = out.csv\n{out}"
    )
    return conf


def run(sc, conf: Path, *, debug: bool = False) -> None:
    settings = settings_for(conf.parent)
    run_conf(sc, settings, conf, debug=debug)


def test_wordcount_writes_every_distinct_token(spark_context, wordcount_copy: Path, capsys) -> None:
    run(spark_context, wordcount_copy)
    rows = read_csv(wordcount_copy.parent.parent / "out.csv")
    counts = {row[1]: int(row[2]) for row in rows}
    assert len(rows) == len(counts) == WORDCOUNT_ROWS
    assert (counts["all"], counts["those"], counts["the"]) == (20, 14, 344)
    assert len({row[0] for row in rows}) == 1, "one batch time for the whole batch"
    assert b"\r\n" not in (wordcount_copy.parent.parent / "out.csv").read_bytes()
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d - \(Word Count\) - Written 1384 Documents to CSV File .*out\.csv",
        line,
    )


def test_debug_prints_the_result_list_and_writes_nothing(spark_context, wordcount_copy: Path, capsys) -> None:
    run(spark_context, wordcount_copy, debug=True)
    printed = capsys.readouterr().out
    assert "('all', 20)" in printed and "('those', 14)" in printed
    assert not (wordcount_copy.parent.parent / "out.csv").exists()


def test_metadata_columns_and_header(spark_context, tmp_path: Path) -> None:
    conf = make_usecase(
        tmp_path / "meta",
        """
        def load(batchData):
            return batchData.map(lambda ip: (ip, 1.5, {"zone": "dmz", "hits": 3, "agent": "=cmd"}))
        """,
        "10.0.0.1\n10.0.0.2\n",
        out="header = true\nmode = overwrite\n",
    )
    run(spark_context, conf)
    rows = read_csv(tmp_path / "meta" / "out.csv")
    assert rows[0] == ["time", "key", "score", "agent", "hits", "zone"]
    assert sorted(row[1:] for row in rows[1:]) == [
        ["10.0.0.1", "1.5", "'=cmd", "3", "dmz"],
        ["10.0.0.2", "1.5", "'=cmd", "3", "dmz"],
    ]


def test_load_that_raises_on_the_executors_fails_with_its_error(spark_context, tmp_path: Path) -> None:
    conf = make_usecase(
        tmp_path / "boom",
        """
        def load(batchData, conf):
            return batchData.map(lambda line: (line, 1 / 0))
        """,
        "x\n",
    )
    with pytest.raises(UseCaseError, match=r"\(Test Case\) - Failed: ZeroDivisionError: division by zero"):
        run(spark_context, conf)


def test_load_that_returns_no_rdd_fails_clearly(spark_context, tmp_path: Path) -> None:
    conf = make_usecase(tmp_path / "norrd", "def load(batchData):\n    return [('a', 1)]\n", "x\n")
    with pytest.raises(UseCaseError, match="load\\(\\) returned list, expected an RDD"):
        run(spark_context, conf)


def test_same_named_helpers_of_two_use_cases_reach_the_executors(spark_context, tmp_path: Path) -> None:
    """Each use case's functions travel by value with its own utils.py, not the other's."""
    confs = []
    for name in ("first", "second"):
        conf = make_usecase(
            tmp_path / name,
            """
            import utils

            def load(batchData):
                return batchData.map(lambda line: (utils.tag(line), 1))
            """,
            "x\n",
        )
        (conf.parent / "utils.py").write_text(f"def tag(line):\n    return '{name}-' + line\n")
        confs.append(conf)
    settings = settings_for(tmp_path)
    prepared = [prepare(settings, read_usecase(conf)) for conf in confs]
    for item in prepared:
        run_batch(spark_context, RunContext(settings), item, debug=False)
    assert read_csv(tmp_path / "first" / "out.csv")[0][1] == "first-x"
    assert read_csv(tmp_path / "second" / "out.csv")[0][1] == "second-x"


def test_original_style_plugin_runs(spark_context, tmp_path: Path, monkeypatch) -> None:
    home = tmp_path / "home"
    (home / "plugins" / "output").mkdir(parents=True)
    (home / "plugins" / "output" / "out_legacy.py").write_text(
        textwrap.dedent(
            """
            class Plugin:
                def __init__(self, conf):
                    self.path = conf.get("path", "legacy.txt")

                def save(self, dataRDD, progType):
                    with open(self.path, "w") as out:
                        for key, score in dataRDD.collect():
                            out.write("%s %s %s\\n" % (progType, key, score))
            """
        )
    )
    conf = make_usecase(
        tmp_path / "uc", "def load(batchData, conf):\n    return batchData.map(lambda x: (x, 2))\n", "a\n"
    )
    conf.write_text(
        conf.read_text()
        .replace("output = csv", "output = legacy")
        .replace("[out_csv]\npath = out.csv", f"[out_legacy]\npath = {tmp_path / 'legacy.txt'}")
    )
    settings = settings_for(tmp_path, home)
    run_conf(spark_context, settings, conf)
    assert (tmp_path / "legacy.txt").read_text() == "batch a 2\n"


def test_load_that_raises_on_the_driver_fails_with_its_error(spark_context, tmp_path: Path) -> None:
    conf = make_usecase(
        tmp_path / "keyerror", "def load(batchData, conf):\n    return conf['threshold']\n", "x\n"
    )
    with pytest.raises(UseCaseError, match=r"\(Test Case\) - Failed: KeyError: 'threshold'"):
        run(spark_context, conf)


def test_file_glob_reads_every_matching_file(spark_context, tmp_path: Path) -> None:
    conf = make_usecase(
        tmp_path / "glob", "def load(batchData):\n    return batchData.map(lambda x: (x, 1))\n", ""
    )
    logs = conf.parent / "logs"
    logs.mkdir()
    for day in ("mon", "tue"):
        (logs / f"{day}.log").write_text(f"{day}-event\n")
    (logs / "notes.txt").write_text("not a log\n")
    conf.write_text(conf.read_text().replace("file = data.txt", "file = logs/*.log"))
    run(spark_context, conf)
    assert sorted(row[1] for row in read_csv(conf.parent / "out.csv")) == ["mon-event", "tue-event"]


def test_overwrite_keeps_normal_file_permissions(spark_context, tmp_path: Path) -> None:
    conf = make_usecase(
        tmp_path / "perm",
        "def load(batchData):\n    return batchData.map(lambda x: (x, 1))\n",
        "a\n",
        "mode = overwrite\n",
    )
    run(spark_context, conf)
    out = conf.parent / "out.csv"
    assert out.stat().st_mode & 0o777 == 0o666 & ~_current_umask()
    out.chmod(0o640)
    run(spark_context, conf)
    assert out.stat().st_mode & 0o777 == 0o640
    assert [row[1] for row in read_csv(out)] == ["a"]


def _current_umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask
