"""One streaming batch, shaped like the DStream an original-style plugin's ``save()`` expects.

Such plugins register ``dstream.foreachRDD(lambda rdd: ...)``. ``save()`` is called once per
batch, inside the batch's delivery, with this view of the batch's RDD: a plugin's
``foreachRDD`` runs on the spot, so its writes finish (or fail the batch) before the batch
counts as delivered and its Kafka offsets are committed.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from datetime import datetime
from typing import Any

from pyspark import RDD

PPRINT_RULE = "-" * 43  # the rule PySpark's DStream.pprint() draws around a batch's time


class OneBatchStream:
    """The DStream calls original plugins make (``foreachRDD``, ``transform``, ``pprint``)
    applied to one batch; any other attribute is the RDD's, and RDDs it returns stay views."""

    def __init__(self, rdd: RDD, batch_time: datetime) -> None:
        self.rdd = rdd
        self.batch_time = batch_time

    def foreachRDD(self, func: Callable[..., Any]) -> None:  # noqa: N802 (DStream's name)
        """Run ``func(rdd)`` or ``func(time, rdd)`` now, as DStream.foreachRDD would at this batch."""
        call_with_time(func, self.batch_time, self.rdd)

    def transform(self, func: Callable[..., RDD]) -> OneBatchStream:
        """``func(rdd)`` or ``func(time, rdd)``: the batch's RDD in a new view."""
        return OneBatchStream(call_with_time(func, self.batch_time, self.rdd), self.batch_time)

    def pprint(self, num: int = 10) -> None:
        """The first ``num`` rows under the batch's time, as DStream.pprint() prints them."""
        taken = self.rdd.take(num + 1)
        print(f"{PPRINT_RULE}\nTime: {self.batch_time}\n{PPRINT_RULE}")
        for row in taken[:num]:
            print(row)
        if len(taken) > num:
            print("...")
        print("")

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.rdd, name)
        if not callable(attribute):
            return attribute

        def as_stream(*args: Any, **kwargs: Any) -> Any:
            result = attribute(*args, **kwargs)
            return OneBatchStream(result, self.batch_time) if isinstance(result, RDD) else result

        return as_stream


def call_with_time(func: Callable[..., Any], batch_time: datetime, rdd: RDD) -> Any:
    """DStream's rule: a function of one argument gets the RDD, of two the time and the RDD.
    The signature is read (not ``__code__``), so a bound method ``self.write(rdd)`` works too."""
    try:
        parameters = inspect.signature(func).parameters.values()
    except (TypeError, ValueError):
        return func(rdd)
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    takes_many = any(p.kind == p.VAR_POSITIONAL for p in parameters)
    return func(batch_time, rdd) if takes_many or len(positional) >= 2 else func(rdd)
