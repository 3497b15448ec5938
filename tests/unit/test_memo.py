"""remembered: a pure function's answers kept for the values a log repeats."""

from __future__ import annotations

import pickle
from functools import partial

import pytest
from pyspark import cloudpickle

from datashark.detect.memo import remembered


def counting(calls: list):
    def upper(text: str) -> str:
        """Upper case."""
        calls.append(text)
        return text.upper()

    return upper


def test_each_distinct_argument_is_computed_once() -> None:
    calls: list = []
    upper = remembered(counting(calls))
    assert [upper(word) for word in ["a", "b", "a", "a", "b"]] == ["A", "B", "A", "A", "B"]
    assert calls == ["a", "b"]
    assert upper.__doc__ == "Upper case." and upper.__name__ == "upper"


def test_the_memory_holds_at_most_size_answers() -> None:
    calls: list = []
    upper = remembered(counting(calls), size=3)
    for word in ["a", "b", "c", "d", "a"]:
        upper(word)
    assert len(upper.answers) <= 3
    assert calls == ["a", "b", "c", "d", "a"]  # full at "d": emptied, so "a" is computed again


def test_it_pickles_without_its_memory() -> None:
    upper = remembered(str.upper, size=10)
    upper("x")
    copy = cloudpickle.loads(cloudpickle.dumps(upper))
    assert copy.answers == {} and copy.size == 10 and copy("y") == "Y"
    assert pickle.loads(pickle.dumps(upper)).answers == {}


def test_an_unhashable_argument_is_computed_each_time() -> None:
    calls: list = []
    size = remembered(lambda value: calls.append(value) or len(value))
    assert size(["a", "b"]) == 2 and size(["a", "b"]) == 2
    assert len(calls) == 2 and size.answers == {}


def test_size_must_be_positive() -> None:
    with pytest.raises(ValueError, match="size must be at least 1"):
        remembered(str.upper, size=0)


def test_a_function_with_settings_bound_is_named_after_the_function() -> None:
    def scaled(factor: int, value: int) -> int:
        return factor * value

    bound = remembered(partial(scaled, 3))
    assert bound(2) == 6
    assert repr(bound) == "remembered(scaled, size=4096)"
