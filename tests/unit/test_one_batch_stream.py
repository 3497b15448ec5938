"""DStream's rule for the functions an original plugin hands foreachRDD/transform."""

from __future__ import annotations

from datashark.loading.one_batch_stream import call_with_time

TIME, RDD = "batch-time", "the-rdd"


class Writer:
    def write(self, rdd):
        return ("rdd", rdd)

    def write_at(self, when, rdd):
        return ("time", when, rdd)


def test_a_function_of_one_argument_gets_the_rdd() -> None:
    assert call_with_time(lambda s: ("rdd", s), TIME, RDD) == ("rdd", RDD)


def test_a_function_of_two_arguments_gets_the_time_then_the_rdd() -> None:
    assert call_with_time(lambda t, s: ("time", t, s), TIME, RDD) == ("time", TIME, RDD)


def test_bound_methods_count_without_self() -> None:
    writer = Writer()
    assert call_with_time(writer.write, TIME, RDD) == ("rdd", RDD)
    assert call_with_time(writer.write_at, TIME, RDD) == ("time", TIME, RDD)


def test_varargs_get_both_as_pyspark_passes_them() -> None:
    assert call_with_time(lambda *args: args, TIME, RDD) == (TIME, RDD)
