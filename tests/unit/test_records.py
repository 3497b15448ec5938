"""Row validation: what load() may return, and what becomes a dead letter instead."""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

import numpy
import pytest

from datashark.events.records import MAX_DEPTH, MAX_RAW_CHARS, ValidRows, metadata_of, raw_text, row_problem


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


# ----------------------------------------------------------------------------- hostile rows
# What a careless or hostile load() returns: each must be a reason (a dead letter), never an
# exception that fails the batch, nor a row an output cannot write.


def nested_dicts(levels: int) -> dict:
    """``{"a": {"a": ...}}`` ``levels`` deep, built without recursion."""
    top: dict = {}
    inner = top
    for _ in range(levels - 1):
        inner["a"] = {}
        inner = inner["a"]
    return top


def nested_lists(levels: int) -> list:
    top: list = []
    inner = top
    for _ in range(levels - 1):
        inner.append([])
        inner = inner[0]
    return top


class BrokenRepr:
    def __repr__(self) -> str:
        raise RuntimeError("no repr for you")


class BrokenLength(tuple):
    def __len__(self) -> int:
        raise RuntimeError("no length for you")


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        (("ip", 10**400), "score is an integer beyond 64 bits"),
        (("ip", -(2**63) - 1), "score is an integer beyond 64 bits"),
        (("ip", 2**64), "score is an integer beyond 64 bits"),
        (("ip", float("inf")), "score is inf, not a finite number"),
        (("ip", float("-inf")), "score is -inf, not a finite number"),
        (("ip", Fraction(10**400, 3)), "score is out of the float range"),
        (("ip", Decimal("1e400")), "score is Decimal, not a number"),
        (("ip", Decimal("Infinity")), "score is Decimal, not a number"),
        (("ip", numpy.float64("nan")), "score is nan, not a finite number"),
        (("ip", 1, {1: "a", "b": 2}), "metadata has a key of type int, not str"),
        (("ip", 1, {"b": 2, 1: "a"}), "metadata has a key of type int, not str"),
        (("ip", 1, {"a": {(1, 2): 3}}), "metadata['a'] has a key of type tuple, not str"),
        (("\ud800", 1), "key is not UTF-8 text (a lone surrogate)"),
        (("ip\udfff", 1), "key is not UTF-8 text (a lone surrogate)"),
        (("ip", 1, {"a": "x\ud800"}), "metadata['a'] is not UTF-8 text (a lone surrogate)"),
        (("ip", 1, {"a": ["ok", "\ud800"]}), "metadata['a'][1] is not UTF-8 text (a lone surrogate)"),
        (("ip", 1, {"\ud800": 1}), "metadata has a key that is not UTF-8 text (a lone surrogate)"),
        (("ip", 1, {"a": {1, 2}}), "metadata['a'] is set, not a JSON value"),
        (("ip", 1, {"a": frozenset()}), "metadata['a'] is frozenset, not a JSON value"),
        (("ip", 1, {"a": b"bytes"}), "metadata['a'] is bytes, not a JSON value"),
        (("ip", 1, {"a": BrokenRepr()}), "metadata['a'] is BrokenRepr, not a JSON value"),
        (("ip", 1, {"a": 10**400}), "metadata['a'] is an integer beyond 64 bits"),
        (("ip", 1, {"a": [1.0, math.inf]}), "metadata['a'][1] is inf, not a finite number"),
        (("ip", 1, {"a": Decimal("1.5")}), "metadata['a'] is Decimal, not a JSON value"),
        (("ip", 1, {"a\n=evil": b""}), "metadata['a\\n=evil'] is bytes, not a JSON value"),
    ],
)
def test_hostile_rows_say_why(row, problem) -> None:
    assert row_problem(row) == problem


@pytest.mark.parametrize("nest", [nested_dicts, nested_lists])
def test_metadata_nested_ten_thousand_levels_is_a_reason_not_a_recursion_error(nest) -> None:
    assert row_problem(("ip", 1, {"deep": nest(10_000)})) == "metadata nests deeper than 32 levels"


def test_metadata_nesting_up_to_the_limit_is_valid() -> None:
    assert row_problem(("ip", 1, nested_dicts(MAX_DEPTH))) is None
    assert row_problem(("ip", 1, nested_dicts(MAX_DEPTH + 1))) == "metadata nests deeper than 32 levels"


def test_a_row_that_raises_when_checked_is_a_reason() -> None:
    assert row_problem(BrokenLength(("ip", 1))) == "could not be checked (RuntimeError)"


@pytest.mark.parametrize(
    "row",
    [
        ("ip", 2**64 - 1),
        ("ip", -(2**63)),
        ("ip", Fraction(1, 3)),
        ("ip", numpy.float32(1.5)),
        ("ip", numpy.uint64(2**64 - 1)),
        ("ip", numpy.int8(-3), {"n": numpy.int64(7), "x": numpy.float64(0.25), "y": numpy.float32(2.0)}),
        ("ip", 1, {"a": [1, "two", 3.0, None, True, {"b": ("t", "u")}]}),
        ("Zürich 🦈", 1, {"東京": "é", "": ""}),
        ("ip", 1, {"nested": nested_dicts(MAX_DEPTH - 1)}),
    ],
)
def test_rows_outputs_can_write_are_valid(row) -> None:
    assert row_problem(row) is None


@pytest.mark.parametrize(
    "row",
    [
        nested_dicts(10_000),
        ("ip", 1, {"deep": nested_lists(10_000)}),
        ("ip", 10**5000),
        10**5000,
        ("ip", BrokenRepr()),
        BrokenRepr(),
        BrokenLength(("ip", 1)),
        ("ip", 1, {1: "a", "b": 2}),
        ("\ud800", 1, {"\udfff": "\ud800"}),
        "x" * 100_000,
        ["y" * 1000] * 1000,
        {str(n): "z" * 100 for n in range(10_000)},
    ],
    ids=[
        "nested-dicts",
        "nested-lists",
        "huge-int-score",
        "huge-int",
        "broken-repr-inside",
        "broken-repr",
        "broken-length",
        "mixed-keys",
        "surrogates",
        "long-text",
        "long-list",
        "big-dict",
    ],
)
def test_raw_text_never_raises_and_is_bounded(row) -> None:
    text = raw_text(row)
    assert isinstance(text, str)
    assert len(text) <= MAX_RAW_CHARS + 1
    text.encode("utf-8")  # lone surrogates come out escaped: the dead-letter file takes them


def test_raw_text_says_how_big_a_huge_int_is() -> None:
    assert raw_text(("ip", 10**5000)) == "('ip', <int of 16610 bits>)"


def test_raw_text_of_an_ordinary_row_is_its_repr() -> None:
    """reprlib sorts dict keys: these are in order already."""
    row = ("10.0.0.1", 2.5, {"hits": [1, 2], "zone": "dmz"})
    assert raw_text(row) == repr(row)


def test_valid_rows_dead_letters_every_hostile_row_with_its_reason() -> None:
    dead = Collected()
    rows = [
        ("good", 1),
        ("ip", 10**400),
        ("ip", 1, {1: "a", "b": 2}),
        ("ip", 1, nested_dicts(10_000)),
        ("\ud800", 1),
        ("also good", 2.0, {"k": "v"}),
    ]
    assert list(ValidRows(dead)(rows)) == [("good", 1), ("also good", 2.0, {"k": "v"})]
    assert [reason for _, reason, _ in dead.letters] == [
        "load() returned a bad row: score is an integer beyond 64 bits",
        "load() returned a bad row: metadata has a key of type int, not str",
        "load() returned a bad row: metadata nests deeper than 32 levels",
        "load() returned a bad row: key is not UTF-8 text (a lone surrogate)",
    ]
    assert all(stage == "output" and len(raw) <= MAX_RAW_CHARS + 1 for stage, _, raw in dead.letters)
    assert dead.letters[3][2] == "('\\ud800', 1)"


def test_numpy_metadata_values_are_json_values() -> None:
    """What numpy code in load() returns: its booleans and numbers are written by every output."""
    metadata = {"flag": numpy.bool_(True), "count": numpy.int64(3), "ratio": numpy.float32(0.5)}
    assert row_problem(("ip", 1.0, metadata)) is None
