"""What the driver says about a batch's rows: where dead letters go, and -d's marked bad rows."""

from __future__ import annotations

from types import SimpleNamespace

from pyspark.accumulators import Accumulator

from datashark.events.deadletter import DeadLetters
from datashark.run import delivery


class DriverOnly:
    """Just enough of a SparkContext for the store: an accumulator on the driver."""

    def accumulator(self, value, param):
        return Accumulator(0, value, param)


def test_flush_counts_the_rejected_rows_and_says_once_where_they_go(tmp_path, capsys):
    letters = DeadLetters(DriverOnly(), tmp_path / "dl", "SSH Brute Force")
    prepared = SimpleNamespace(usecase=SimpleNamespace(name="SSH Brute Force"))
    letters.add("input", "not JSON", "{oops")
    letters.add("output", "load() returned a bad row", "(1, 'a')")
    letters.add("output", "load() returned a bad row", "(2, 'b')")
    first = delivery.flush_dead_letters(prepared, letters)
    assert (first.count, first.rejected_rows) == (3, 2)
    assert capsys.readouterr().out.endswith(f" Dead letters of (SSH Brute Force) go to {letters.path}\n")
    letters.add("output", "load() returned a bad row", "(3, 'c')")
    again = delivery.flush_dead_letters(prepared, letters)
    assert (again.count, again.rejected_rows) == (1, 1)
    assert capsys.readouterr().out == "", "said once a run"


# -d marks the rows the output would dead-letter.


def test_debug_marks_bad_rows_and_prints_the_good_ones_as_before():
    rows = [("5.188.10.180", 25, {"n": 1}), (25, "5.188.10.180", {}), ("ok", float("nan"))]
    assert delivery.debug_lines(rows) == [
        "[('5.188.10.180', 25, {'n': 1})]",
        "[bad row: key is int, not str] (25, '5.188.10.180', {})",
        "[bad row: score is nan, not a finite number] ('ok', nan)",
    ]
    assert delivery.marked(("a", 1)) == "('a', 1)"
    assert delivery.marked(("a", "b" * 500)).endswith("b" * 10 + "...")


def test_debug_shows_a_few_bad_rows_and_counts_the_rest():
    lines = delivery.debug_lines([(n, "swapped") for n in range(25)])
    assert lines[0] == "[]"
    assert len(lines) == 1 + delivery.MAX_BAD_ROWS_SHOWN + 1
    assert lines[-1] == "[bad rows: 15 more not shown]"
