"""Row validation: what load() may return, and what becomes a dead letter instead."""

from __future__ import annotations

import math

import numpy
import pytest

from datashark.records import ValidRows, metadata_of, row_problem


@pytest.mark.parametrize(
    "row",
    [("ip", 1), ("ip", 1.5), ["ip", -2], ("ip", 0, {"a": 1}), ("ip", 3, None), ("", 0)],
)
def test_valid_rows(row) -> None:
    assert row_problem(row) is None


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        ("ip", "not a (key, score[, metadata]) tuple"),
        (("ip",), "not a (key, score[, metadata]) tuple"),
        (("ip", 1, {}, "x"), "not a (key, score[, metadata]) tuple"),
        ({"ip": 1}, "not a (key, score[, metadata]) tuple"),
        ((1, 1), "key is int, not str"),
        ((None, 1), "key is NoneType, not str"),
        (("ip", "1"), "score is str, not a number"),
        (("ip", True), "score is bool, not a number"),
        (("ip", None), "score is NoneType, not a number"),
        (("ip", math.nan), "score is nan, not a finite number"),
        (("ip", math.inf), "score is inf, not a finite number"),
        (("ip", 1, ["a"]), "metadata is list, not dict"),
    ],
)
def test_invalid_rows_say_why(row, problem) -> None:
    assert row_problem(row) == problem


def test_numpy_scores_are_numbers() -> None:
    assert row_problem(("ip", numpy.float64(0.5))) is None
    assert row_problem(("ip", numpy.int64(3))) is None


def test_metadata_of() -> None:
    assert metadata_of(("a", 1)) == {}
    assert metadata_of(("a", 1, None)) == {}
    assert metadata_of(("a", 1, {"x": 2})) == {"x": 2}


class Collected:
    def __init__(self) -> None:
        self.letters: list[tuple[str, str, object]] = []

    def add(self, stage: str, reason: str, raw: object) -> None:
        self.letters.append((stage, reason, raw))


def test_valid_rows_passes_good_rows_and_dead_letters_the_rest() -> None:
    dead = Collected()
    kept = list(ValidRows(dead)([("a", 1), ("b", "x"), ("c", 2, {"k": 1})]))
    assert kept == [("a", 1), ("c", 2, {"k": 1})]
    assert dead.letters == [("output", "load() returned a bad row: score is str, not a number", "('b', 'x')")]
