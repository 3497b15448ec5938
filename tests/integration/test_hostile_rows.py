"""Hostile rows from load() on a real SparkContext: every one a dead letter with its reason,
the good ones written, the batch never failed (issue 12, item 9)."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest

from tests.integration.conftest import read_csv, settings_for
from tests.support.runs import run_conf

pytestmark = pytest.mark.spark

FORMULA_KEY = "=cmd|' /C calc'!A0"

# load() turns each line of data.txt (a kind's name) into that kind's row, on the executors.
CODE = """
def load(batchData):
    from decimal import Decimal
    from fractions import Fraction

    import numpy

    class BrokenRepr:
        def __repr__(self):
            raise RuntimeError("no repr")

    def nested(levels):
        top = inner = {}
        for _ in range(levels):
            inner["a"] = {}
            inner = inner["a"]
        return top

    formula = "=cmd|' /C calc'!A0"
    rows = {
        "good-1": lambda: ("good-1", 1.5, {formula: "=1+1", "note": "red\\x1b[31m\\nline\\u202e"}),
        "good-2": lambda: ("good-2", 2, {formula: "plain", "note": "ok"}),
        "good-numpy": lambda: ("good-numpy", numpy.float32(0.5), {formula: numpy.int64(7), "note": ""}),
        "big-int": lambda: ("big-int", 10**400),
        "huge-int": lambda: ("huge-int", 10**5000),
        "inf": lambda: ("inf", float("inf")),
        "decimal": lambda: ("decimal", Decimal("1e400")),
        "fraction": lambda: ("fraction", Fraction(10**400, 3)),
        "mixed-keys": lambda: ("mixed-keys", 1, {1: "a", "b": 2}),
        "deep": lambda: ("deep", 1, nested(10_000)),
        "surrogate-key": lambda: ("surrogate-key\\ud800", 1),
        "surrogate-value": lambda: ("surrogate-value", 1, {"m": "\\ud800"}),
        "surrogate-metadata-key": lambda: ("surrogate-metadata-key", 1, {"\\udfff": 1}),
        "set": lambda: ("set", 1, {"m": {1, 2}}),
        "bytes": lambda: ("bytes", 1, {"m": b"\\x00"}),
        "broken-repr": lambda: ("broken-repr", 1, {"m": BrokenRepr()}),
    }
    return batchData.map(lambda kind: rows[kind]())
"""

# The reason each hostile row is dead-lettered with, after "load() returned a bad row: ".
REASONS = {
    "big-int": "score is an integer beyond 64 bits",
    "huge-int": "score is an integer beyond 64 bits",
    "inf": "score is inf, not a finite number",
    "decimal": "score is Decimal, not a number",
    "fraction": "score is out of the float range",
    "mixed-keys": "metadata has a key of type int, not str",
    "deep": "metadata nests deeper than 32 levels",
    "surrogate-key": "key is not UTF-8 text (a lone surrogate)",
    "surrogate-value": "metadata['m'] is not UTF-8 text (a lone surrogate)",
    "surrogate-metadata-key": "metadata has a key that is not UTF-8 text (a lone surrogate)",
    "set": "metadata['m'] is set, not a JSON value",
    "bytes": "metadata['m'] is bytes, not a JSON value",
    "broken-repr": "metadata['m'] is BrokenRepr, not a JSON value",
}
GOOD = ["good-1", "good-2", "good-numpy"]


def hostile_usecase(folder: Path) -> Path:
    """A batch use case in ``folder`` whose load() returns the good rows among every hostile kind."""
    folder.mkdir(parents=True)
    (folder / "uc.py").write_text(textwrap.dedent(CODE))
    kinds = [GOOD[0], *REASONS, *GOOD[1:]]
    (folder / "data.txt").write_text("".join(f"{kind}\n" for kind in kinds))
    conf = folder / "uc.conf"
    conf.write_text(
        "name = Hostile Rows\ntype = batch\ncode = uc.py\nfile = data.txt\noutput = csv\n"
        "[out_csv]\npath = out/rows.csv\nheader = true\ndebug = true\n"
    )
    return conf


def test_hostile_rows_are_dead_letters_and_the_good_ones_are_written(
    spark_context, tmp_path: Path, capsys
) -> None:
    conf = hostile_usecase(tmp_path / "uc")
    settings = settings_for(tmp_path)
    run_conf(spark_context, settings, conf)

    out = capsys.readouterr().out
    written = re.findall(
        r"- \(Hostile Rows\) - Written (\d+) Documents to CSV File (.+) \((\d+) Dead Letters\)$", out, re.M
    )
    assert written == [("3", str(tmp_path / "uc" / "out" / "rows.csv"), str(len(REASONS)))], out

    rows = read_csv(tmp_path / "uc" / "out" / "rows.csv")
    assert rows[0] == ["time", "key", "score", "'" + FORMULA_KEY, "note"]
    assert sorted(row[1:] for row in rows[1:]) == [
        ["good-1", "1.5", "'=1+1", "red\x1b[31m\nline\u202e"],
        ["good-2", "2", "plain", "ok"],
        ["good-numpy", "0.5", "7", ""],
    ]

    echoed = [line for line in out.splitlines() if ",good-1," in line]
    assert len(echoed) == 1 and echoed[0].endswith(',1.5,\'=1+1,"red\\x1b[31m\\nline\\u202e"'), out
    assert "\x1b" not in out and "\u202e" not in out

    letters = list((tmp_path / "deadletter" / "hostile-rows").glob("*.jsonl"))
    assert len(letters) == 1
    records = [json.loads(line) for line in letters[0].read_text(encoding="utf-8").splitlines()]
    assert {record["stage"] for record in records} == {"output"}
    assert {record["usecase"] for record in records} == {"Hostile Rows"}
    reasons = {_kind_of(record["event"]): record["reason"] for record in records}
    assert reasons == {kind: f"load() returned a bad row: {reason}" for kind, reason in REASONS.items()}
    events = {_kind_of(record["event"]): record["event"] for record in records}
    assert events["huge-int"] == "('huge-int', <int of 16610 bits>)"
    assert events["surrogate-key"] == "('surrogate-key\\ud800', 1)"
    assert all(len(event) <= 4097 for event in events.values())


def _kind_of(event: str) -> str:
    """The kind a dead letter's row was made from: its key, as the row's repr starts with it."""
    return event.removeprefix("('").split("'")[0].removesuffix("\\ud800")
