"""The DStream of an input that decides on the driver, at each batch, what the batch reads
(Kafka's offset ranges, a folder's new files, an Elasticsearch interval).

PySpark has no hook that runs on the driver once per batch but ``transform``, so the stream is
a queue stream of one dummy RDD a batch ("ticks") transformed by the input's function. PySpark
folds consecutive ``transform``s into one function, which would put the input's function into
every branch a ``load()`` builds on its stream (``events.map(f).union(events.map(g))``): each
branch would cut its own batch, and one would get what the other missed. A subclass of
``TransformedDStream`` is never folded (PySpark folds only that exact type), so the input's
function is a DStream of its own in the JVM, computed once per batch, its RDD shared by every
branch.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from pyspark.streaming.dstream import TransformedDStream

from datashark.errors import DataSharkError
from datashark.run import failures

if TYPE_CHECKING:
    from pyspark import RDD
    from pyspark.streaming import DStream, StreamingContext


Cut = TypeVar("Cut")


class BreakableSource(Protocol):
    """A source's driver-side state: broken once a batch could not be cut."""

    broken: Exception | None

    def failed(self, consumer: str, batch_time: Any) -> None: ...


class _BatchSource(TransformedDStream):
    """A transform the ones after it never absorb."""


def batch_source(ssc: StreamingContext, make_batch: Callable[[datetime, RDD], RDD]) -> DStream:
    """A DStream whose RDD of each batch is ``make_batch(batch_time, tick)``, called on the driver
    once per batch (``tick``: a dummy RDD, whose ``context`` is the SparkContext)."""
    tick = ssc.queueStream([], default=ssc.sparkContext.parallelize([0], 1))
    return _BatchSource(tick, make_batch)


def cut_batch(source: BreakableSource, batch_time: Any, cut: Callable[[], Cut]) -> Cut:
    """``cut()``: what the batch of ``batch_time`` reads, decided on the driver. If it fails,
    nothing after this batch may be acknowledged, and the source stays broken: the stream is
    stopping, and later batches fail at once instead of waiting on the server again."""
    if source.broken is not None:
        raise source.broken
    try:
        return cut()
    except Exception as err:
        source.failed("driver", batch_time)
        source.broken = err
        if isinstance(err, DataSharkError):
            failures.record(err)
        raise
