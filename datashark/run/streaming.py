"""Streaming use cases: one StreamingContext, shared cached inputs, graceful stops.

Functions handed to ``transform``/``foreachRDD`` are real functions (PySpark inspects their
arity). With a checkpoint directory set, Spark pickles them into the checkpoint at every batch,
so they close over a use case's id in this module's registry, never over the prepared use case:
its plugins hold passwords and API keys, which must not be written to disk. They reach
executors only inside the tasks of a batch, built when its job runs.
"""

from __future__ import annotations

import itertools
import signal
import threading
import time
import warnings
from collections.abc import Callable

from datashark import console
from datashark.detect import window_state, windows
from datashark.errors import UseCaseError
from datashark.events.deadletter import DeadLetters, dead_letters_for
from datashark.frames.streaming import FrameQueries
from datashark.loading.load_call import call_load, load_arguments
from datashark.run import failures
from datashark.run.checkpoint import private_checkpoint, remove_checkpoint
from datashark.run.context import RunContext
from datashark.run.delivery import (
    deliver,
    events_for_load,
    report_dead_letters,
    show_stream_batch,
    start_output,
)
from datashark.run.failures import summarize, usecase_failure
from datashark.run.prepare import Prepared
from datashark.run.spark import scheduler_pool

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
# Driver-side: the use cases of the running streams, by an id unique in this process.
_RUNNING: dict[str, Prepared] = {}
_IDS = itertools.count()
# Set once a stop is asked for: batches whose delivery has not begun are left for the next start.
_STOPPING = threading.Event()


class GracefulStop:
    """Turns SIGINT/SIGTERM, an optional time limit and an optional ``stop_when`` (polled every
    second: ``datashark test`` stops once its events were delivered) into "finish the batch,
    then stop"."""

    def __init__(self, timeout: float | None, stop_when: Callable[[], str | None] | None = None) -> None:
        self.deadline = time.monotonic() + timeout if timeout else None
        self.stop_when = stop_when
        self.signalled: str | None = None
        self.by_stop_when = False  # the reason came from stop_when
        self.previous = {sig: signal.signal(sig, self._on_signal) for sig in STOP_SIGNALS}

    def _on_signal(self, signum: int, _frame) -> None:
        self.signalled = signal.Signals(signum).name

    def reason(self) -> str | None:
        if self.signalled:
            return f"{self.signalled} received"
        if self.deadline is not None and time.monotonic() >= self.deadline:
            return "time limit reached"
        reason = self.stop_when() if self.stop_when is not None else None
        self.by_stop_when = reason is not None
        return reason

    def restore(self) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)


def run_streaming(
    sc,
    run: RunContext,
    prepared: list[Prepared],
    *,
    debug: bool,
    timeout: float | None,
    stop_when: Callable[[], str | None] | None = None,
    at_once: bool = False,
) -> None:
    """Wire every streaming use case into one StreamingContext and run until told to stop: by a
    signal, ``timeout`` seconds, or ``stop_when`` returning the reason to stop (polled every second).
    A stop finishes the batches already queued, unless ``stop_when`` asked for it and ``at_once``
    is set: ``datashark test`` stops once what it waits for was delivered, and what is queued
    behind it then holds no events."""
    from pyspark.streaming import StreamingContext

    # dataShark keeps DStreams for the original load() contract; users cannot act on Spark's notice.
    warnings.filterwarnings("ignore", message="DStream is deprecated", category=FutureWarning)
    frames = [item for item in prepared if item.usecase.reads_frames]
    prepared = [item for item in prepared if not item.usecase.reads_frames]
    checkpoint = private_checkpoint(sc, run.checkpoint_dir)
    ssc = StreamingContext(sc, run.settings.batch_interval) if prepared else None
    queries = FrameQueries(sc, run, frames, debug=debug, scratch=checkpoint) if frames else None
    readers: dict[tuple, list[str]] = {}  # the use cases reading each input
    for item in prepared:
        readers.setdefault(item.input.key, []).append(item.usecase.name)
    shared: dict[tuple, object] = {}
    running = [_register(item) for item in prepared]
    failures.clear()
    _STOPPING.clear()
    failed = False
    graceful = True
    try:
        if ssc is not None:
            ssc.checkpoint(checkpoint)
            for item, run_id in zip(prepared, running, strict=True):
                with scheduler_pool(sc, item.usecase):
                    _wire(ssc, sc, run, run_id, shared, debug=debug, readers=readers[item.input.key])
        if queries is not None:
            queries.start()
        stop = GracefulStop(timeout, stop_when)
        if ssc is not None:
            ssc.start()
        try:
            while (reason := stop.reason()) is None:
                if queries is not None and (failure := queries.failure()) is not None:
                    raise failure
                # True once the stream ended (PySpark returns the JVM's answer, though typed None).
                if ssc is None:
                    time.sleep(1)
                elif ssc.awaitTerminationOrTimeout(1):  # type: ignore[func-returns-value]
                    break
            else:
                graceful = not (at_once and stop.by_stop_when)
                left = "finishing the batch in flight" if graceful else "dropping the batches queued"
                console.info(f"Stopping streaming ({reason}): {left}")
                _STOPPING.set()
                for item in prepared:
                    item.input.stop_reading()
        except Exception as err:  # a batch failed: the stream stops, the error says which use case
            failed = True
            first = failures.first()
            raise UseCaseError(f"streaming stopped: {first if first else summarize(err)}") from err
        finally:
            stop.restore()
            # After a failure nothing more is acknowledged, so batches still queued would only
            # be delivered twice: stop at once then.
            if queries is not None:
                queries.stop(graceful=graceful and not failed)
            if ssc is not None:
                ssc.stop(stopSparkContext=False, stopGraceFully=graceful and not failed)
    finally:
        for item, run_id in zip(prepared, running, strict=True):
            item.input.close()
            item.lookups.stop()
            _RUNNING.pop(run_id, None)
        windows.release()  # the open windows of this run's use cases, cached on the driver
        remove_checkpoint(sc, checkpoint)


def _register(prepared: Prepared) -> str:
    run_id = f"{next(_IDS)}:{prepared.usecase.name}"
    _RUNNING[run_id] = prepared
    return run_id


def _stopping() -> bool:
    """Whether a stop was asked for (read by closures through this function, see ``_running``)."""
    return _STOPPING.is_set()


def _running(run_id: str) -> Prepared:
    """The registered use case. Closures call this instead of reading ``_RUNNING``: cloudpickle
    copies the globals a closure reads into the checkpoint, but pickles a module's function by name."""
    return _RUNNING[run_id]


def _wire(ssc, sc, run: RunContext, run_id: str, shared: dict, *, debug: bool, readers: list[str]) -> None:
    from pyspark.streaming import DStream

    prepared = _RUNNING[run_id]
    usecase = prepared.usecase
    source = prepared.input
    console.say(f" - Starting {usecase.name}")
    console.say(f"   + Input Module: {source.description}")
    console.say(f"   + Output Module: {usecase.output.title()}")
    if source.key not in shared:
        # Cached only when shared: caching pickles every event into Spark's block store, which
        # costs a single reader more than it saves (bench/README.md, Kafka).
        stream = source.stream(ssc)
        shared[source.key] = stream.cache() if len(readers) > 1 else stream
    dead_letters = dead_letters_for(sc, run.settings, usecase)
    events = events_for_load(
        prepared, shared[source.key], dead_letters, stage="input", filtered=True, text_only=source.TEXT_ONLY
    )
    training_location = run.data_location(usecase)  # None: no training, an empty trainingData
    training_lines = sc.textFile(training_location) if training_location else sc.emptyRDD()
    training = events_for_load(prepared, training_lines, dead_letters, stage="training", filtered=False)
    try:
        if not debug:
            start_output(prepared)
        # Windows keep their open state beside the input's, in the folder that outlives runs.
        state = window_state.usecase_state(run.settings.checkpoint_dir, usecase.name)
        with window_state.state_folder(state, usecase.name, readers=readers, save=not debug):
            lookups = prepared.lookups.start(sc, refresh=True)
            result = call_load(
                prepared.module.load, *load_arguments(usecase, sc, events, training, lookups=lookups)
            )
    except Exception as err:  # the output's set-up and load() run once on the driver, at start
        raise usecase_failure(usecase, err) from err
    report_dead_letters(prepared, dead_letters)  # from training, when load() read it already
    if not isinstance(result, DStream):
        raise usecase_failure(
            usecase, UseCaseError(f"load() returned {type(result).__name__}, expected a DStream")
        )
    if debug:
        result.foreachRDD(_debug_print(run_id, dead_letters))
    else:
        source.track(usecase.name)
        result.transform(_generated(run_id)).foreachRDD(_delivery(run_id, dead_letters))


def _generated(run_id: str):
    """Tells the input, while Spark generates the batch's jobs, that this use case's output of
    the batch will run. Told from inside the job instead, another use case's delivery of a later
    batch (concurrentJobs > 1) could be committed past this one before its job even began."""

    def announce(batch_time, rdd):
        prepared = _running(run_id)
        prepared.input.batch_generated(prepared.usecase.name, batch_time)
        # transform() hands its RDD on as read with the context's serializer
        return rdd if rdd._jrdd_deserializer == rdd.ctx.serializer else rdd.map(_same)

    return announce


def _same(row):
    return row


def _delivery(run_id: str, dead_letters: DeadLetters):
    """The batch's output, acknowledged to the input only once it succeeded."""

    def deliver_batch(batch_time, rdd) -> None:
        prepared = _running(run_id)
        name, source = prepared.usecase.name, prepared.input
        if _stopping():
            # Queued behind the stop: neither delivered nor acknowledged, so the input gives it
            # again at the next start (Kafka replays the batches it had cut), and the stop waits
            # for the batch in flight only, not for a backlog.
            console.info(
                f"({name}) batch of {batch_time:%H:%M:%S} not started before the stop: read again next start"
            )
            return
        try:
            with scheduler_pool(rdd.context, prepared.usecase):
                deliver(prepared, rdd, dead_letters, source.batch_time(batch_time))
        except Exception as err:
            source.batch_failed(name, batch_time)
            failure = failures.record(usecase_failure(prepared.usecase, err))
            raise failure from err
        try:
            windows.batch_delivered(name, batch_time)
            source.batch_delivered(name, batch_time)
        except Exception as err:
            failure = failures.record(usecase_failure(prepared.usecase, err))
            raise failure from err

    return deliver_batch


def _debug_print(run_id: str, dead_letters: DeadLetters):
    """``-d``: a batch's first rows, then its dead letters stored (``delivery.show_stream_batch``)."""

    def show(batch_time, rdd) -> None:
        show_stream_batch(_running(run_id), rdd, dead_letters, batch_time)

    return show
