"""Per-entity measures in event-time windows: "failed SSH logins per source IP per 10 minutes".

``per_entity`` groups events by an entity (a source IP, a user) and by the windows their event
time falls in, computes the measures of ``detect/measures.py`` for every (entity, window), and
gives one ``WindowResult`` row per (entity, window) once the window is closed. It takes an RDD
(batch) or a DStream (streaming) and returns the same kind; the same events give the same rows
either way, however the streaming batches cut them.

Windows are aligned to the epoch (UTC): 10-minute windows start at :00, :10, :20... An event at
time ``t`` belongs to every window ``[start, start + size)`` that holds ``t``: one (tumbling), or
``size / every`` of them (sliding).

Closing. A batch run closes every window at its end. A stream closes a window once its
*watermark*, the latest event time seen so far in the run (over all entities), reaches the
window's end plus ``late``: events may arrive that much out of order. An event arriving after
all its windows closed is dropped and counted as late (``stats(name).late``, and a console line
for the batch); so is, per window, an event of a sliding window some of whose windows closed.
Events without an entity are skipped and counted (``stats(name).no_entity``), as are events
without a readable time (``stats(name).no_time``, and a console line for the batch). The counters
are Spark accumulators: an RDD computed twice counts twice.

Streaming state. The open windows' accumulators are an RDD kept on the driver in this module's
registry, merged with each batch's partial accumulators, and checkpointed every few batches so
its lineage stays short. Spark pickles the functions given to ``transform`` into the streaming
checkpoint at every batch: they hold a registry id, never an RDD. Open windows whose end is
``Window.keep`` (7 days by default) before the watermark are dropped unemitted and counted
(``stats(name).expired``): that only happens to windows whose ``late`` is longer than ``keep``.

Across restarts. A stream wired inside ``window_state.state_folder(<checkpoint.dir>/<use case>, ...)`` (as
``run/streaming.py`` does) keeps its open windows under ``<that>/windows-<name>/``: after each
batch a snapshot of the open windows, named by the batch time, and ``current.json`` naming the
snapshot of the latest batch delivered by every use case reading the same input, with its
watermark. ``batch_delivered`` moves ``current`` on; the inputs re-read undelivered batches at
the next start, which begins from ``current``, so every event is counted once. Without a state
folder (a unit test, a notebook) nothing is saved.
"""

from __future__ import annotations

import itertools
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from datashark import console
from datashark.config.usecase import folder_name
from datashark.detect.measures import (
    Field,
    Measure,
    default_time,
    event_micros,
    hashable,
    utc_time,
    value_of,
)
from datashark.detect.sketches import BloomFilter
from datashark.detect.window_state import WIRING, Snapshots, epoch_ms

MICROSECOND = timedelta(microseconds=1)
clock = time.monotonic  # seconds, for Window.idle (a test may set another)
CHECKPOINT_EVERY = 10  # batches between two checkpoints of a stream's open windows

WindowKey = tuple[Any, int]  # (entity, window start in microseconds since the epoch)


@dataclass(frozen=True)
class Window:
    """How events are cut in time: windows of ``size``, starting every ``every`` (None: one
    after the other, "tumbling"; else "sliding", and ``size`` must be a multiple of ``every``),
    closed in a stream once events ``late`` past their end arrived. A stream keeps a window
    open at most ``keep`` past its end: one still open then (its ``late`` is longer) is dropped.

    ``idle`` (None: off) is for quiet sources: once no event has moved the watermark for that
    long by the driver's clock, event time is taken to pass as the clock does, so the last
    windows of a log that went quiet close instead of waiting for its next line. Events that
    then arrive with older times are late."""

    size: timedelta
    every: timedelta | None = None
    late: timedelta = timedelta(0)
    keep: timedelta = timedelta(days=7)
    idle: timedelta | None = None

    def __post_init__(self) -> None:
        for name in ("size", "every", "late", "keep", "idle"):
            value = getattr(self, name)
            if not (value is None and name in ("every", "idle")) and not isinstance(value, timedelta):
                raise TypeError(f"Window {name} must be a timedelta, not {type(value).__name__}")
        if self.idle is not None and self.idle <= timedelta(0):
            raise ValueError(f"Window idle must be positive, not {self.idle}")
        if self.size <= timedelta(0):
            raise ValueError(f"Window size must be positive, not {self.size}")
        if self.every is not None and (self.every <= timedelta(0) or self.size % self.every):
            raise ValueError(f"Window size {self.size} must be a positive multiple of every={self.every}")
        if self.late < timedelta(0):
            raise ValueError(f"Window late must not be negative, not {self.late}")
        if self.keep <= timedelta(0):
            raise ValueError(f"Window keep must be positive, not {self.keep}")

    @property
    def size_us(self) -> int:
        return self.size // MICROSECOND

    @property
    def step_us(self) -> int:
        return (self.every or self.size) // MICROSECOND

    @property
    def late_us(self) -> int:
        return self.late // MICROSECOND

    @property
    def keep_us(self) -> int:
        return self.keep // MICROSECOND

    def starts(self, micros: int) -> list[int]:
        """The starts (microseconds since the epoch) of the windows holding time ``micros``."""
        step, size = self.step_us, self.size_us
        last = micros - micros % step
        return [last - i * step for i in range(size // step)]

    def closes(self, start: int, watermark: int | None) -> bool:
        """Whether the window starting at ``start`` is closed once the watermark is ``watermark``."""
        return watermark is not None and start + self.size_us + self.late_us <= watermark

    def expired(self, start: int, watermark: int | None) -> bool:
        """Whether the window starting at ``start`` ended ``keep`` or more before ``watermark``."""
        return watermark is not None and start + self.size_us + self.keep_us <= watermark

    def final(self, start: int, watermark: int | None) -> bool:
        """Whether the window takes no more events: closed, or expired."""
        return self.closes(start, watermark) or self.expired(start, watermark)


@dataclass(frozen=True, eq=True)
class WindowResult:
    """One entity's measures in one window: ``values`` maps each measure's name to its result.
    ``start`` and ``end`` are UTC datetimes, the window being ``[start, end)``."""

    entity: Any
    start: datetime
    end: datetime
    values: dict[str, Any] = field(hash=False)

    def __hash__(self) -> int:
        return hash((self.entity, self.start, self.end))

    def metadata(self) -> dict[str, Any]:
        """The window and its values as a finding's metadata (JSON values: times as ISO 8601)."""
        return {
            "window_start": self.start.isoformat(),
            "window_end": self.end.isoformat(),
            **{name: _json(value) for name, value in self.values.items()},
        }


def _json(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [_json(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _json(item) for key, item in value.items()}
    if isinstance(value, (set, frozenset)):
        return [_json(item) for item in sorted(value, key=repr)]
    if isinstance(value, BloomFilter):  # a membership test is no value: how many it holds is
        return round(value.approx_items)
    return value


@dataclass(frozen=True)
class Stats:
    """What one ``per_entity`` has done so far: rows emitted, windows open and windows dropped
    unemitted ``keep`` past their end (streaming only), events dropped as late, events skipped
    for want of an entity or of a readable time, and the watermark (the latest event time seen).
    After a restart from saved windows, the counts are this run's."""

    emitted: int = 0
    open: int = 0
    expired: int = 0
    late: int = 0
    no_entity: int = 0
    no_time: int = 0
    watermark: datetime | None = None


@dataclass(frozen=True)
class _Spec:
    """What to compute; pickled into the tasks of each batch."""

    key: Callable[[Any], Any]
    window: Window
    names: tuple[str, ...]
    measures: tuple[Measure, ...]
    time: Callable[[Any], Any]
    gates: tuple[tuple[int, Callable[[Any], bool]], ...] = ()  # (measure's index, test of its result)


def per_entity(
    events,
    key: Field,
    window: Window,
    measures: Mapping[str, Measure],
    name: str,
    *,
    time: Callable[[Any], Any] | None = None,
    when: Mapping[str, Callable[[Any], bool]] | None = None,
):
    """``measures`` per entity and window of ``events`` (an RDD or a DStream of dicts): an RDD
    or DStream of ``WindowResult``, one per (entity, window) that had events, once it closes.

    ``key`` is the entity: a field name (a dotted one is read as given, else nested) or a
    function of the event. ``time`` reads an event's time (a UTC datetime or epoch seconds);
    by default ``@timestamp``. ``name`` names this windowing in console lines, ``stats``,
    ``flush_at_next_batch`` and its saved state: the use case's name, or a short word when it
    has several (each ``name`` once per use case).

    ``when`` maps measure names to tests of their results: a window is given only when every
    test passes, and the other results of the windows left out are never computed. Most windows
    of a noisy source cannot be a finding (one blocked packet is no port scan): leaving them out
    here saves computing what no finding will show.
    """
    from pyspark import RDD
    from pyspark.streaming import DStream

    spec = _spec(key, window, measures, time, when)
    if isinstance(events, DStream):
        run_id = _register(name, spec, events.context().sparkContext, _shape(key, spec))
        return events.transform(_stepper(run_id))
    if isinstance(events, RDD):
        return _batch(name, spec, events)
    raise TypeError(f"per_entity({name!r}): events must be an RDD or a DStream, not {type(events).__name__}")


def _spec(
    key: Field,
    window: Window,
    measures: Mapping[str, Measure],
    time,
    when: Mapping[str, Callable[[Any], bool]] | None = None,
) -> _Spec:
    if not isinstance(window, Window):
        raise TypeError(f"window must be a Window, not {type(window).__name__}")
    if not measures:
        raise ValueError("measures is empty: name at least one, e.g. {'events': count()}")
    for label, measure in measures.items():
        if not all(callable(getattr(measure, part, None)) for part in ("start", "add", "merge", "result")):
            raise TypeError(f"measure {label!r} ({measure!r}) has no start/add/merge/result")
    if time is not None:  # first_seen/last_seen read the same times as the windows
        measures = {
            label: m.with_time(time) if hasattr(m, "with_time") else m for label, m in measures.items()
        }
    names = tuple(map(str, measures))
    when = when or {}
    for label, test in when.items():
        if label not in names:
            raise ValueError(f"when names {label!r}, which is none of the measures ({', '.join(names)})")
        if not callable(test):
            raise TypeError(f"when[{label!r}] must be a function of the measure's result")
    gates = tuple((names.index(label) + 1, test) for label, test in when.items())
    read_key = key if callable(key) else partial(value_of, field=key)
    return _Spec(read_key, window, names, tuple(measures.values()), time or default_time, gates)


# Functions run on executors: module-level, given the spec with functools.partial.


class _Counters:
    """The accumulators of one computation: events without entity, without time, too late."""

    def __init__(self, sc) -> None:
        self.no_entity = sc.accumulator(0)
        self.no_time = sc.accumulator(0)
        self.late = sc.accumulator(0)


def _shape(key: Field, spec: _Spec) -> dict[str, Any]:
    """What saved accumulators depend on: a snapshot of another shape is not loaded."""
    return {
        "key": key if isinstance(key, str) else None,
        "window": [spec.window.size_us, spec.window.step_us],
        "measures": [[label, _described(m)] for label, m in zip(spec.names, spec.measures, strict=True)],
    }


MEMORY_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def _described(measure: Measure) -> str:
    """A measure's ``repr`` without memory addresses: ``top(<function target_order>, 5)`` is the
    same measure in the next process, where the function lives elsewhere."""
    return MEMORY_ADDRESS.sub("", repr(measure))


def _assign(spec: _Spec, watermark: int | None, counters: _Counters, event: Any) -> Iterator[tuple]:
    """flatMap: ``((entity, start), (time, event))`` for each open window holding the event."""
    entity = spec.key(event)
    if entity is None:
        counters.no_entity.add(1)
        return
    micros = event_micros(spec.time(event))
    if micros is None:
        counters.no_time.add(1)
        return
    entity = hashable(entity)
    dropped = False
    for start in spec.window.starts(micros):
        if spec.window.final(start, watermark):
            dropped = True
        else:
            yield (entity, start), (micros, event)
    if dropped:
        counters.late.add(1)


def _create(spec: _Spec, timed: tuple[int, Any]) -> list:
    """The accumulator of a window's first event: its time, then one accumulator per measure."""
    micros, event = timed
    return [micros, *[measure.add(measure.start(), event) for measure in spec.measures]]


def _add(spec: _Spec, acc: list, timed: tuple[int, Any]) -> list:
    """The accumulator: the latest event time, then one accumulator per measure."""
    micros, event = timed
    if micros > acc[0]:
        acc[0] = micros
    i = 1
    for measure in spec.measures:  # the hot loop of every detection: kept plain
        acc[i] = measure.add(acc[i], event)
        i += 1
    return acc


def _merge(spec: _Spec, a: list, b: list) -> list:
    a[0] = _later(a[0], b[0])
    for i, measure in enumerate(spec.measures, 1):
        a[i] = measure.merge(a[i], b[i])
    return a


def _later(a: int | None, b: int | None) -> int | None:
    if a is None or b is None:
        return b if a is None else a
    return max(a, b)


def _results(spec: _Spec, keyed: tuple[WindowKey, list]) -> list[WindowResult]:
    """flatMap: the window's result, or none when a ``when`` test fails (tested first, on the
    results it names only)."""
    acc = keyed[1]
    for index, test in spec.gates:
        if not test(spec.measures[index - 1].result(acc[index])):
            return []
    return [_result(spec, keyed)]


def _result(spec: _Spec, keyed: tuple[WindowKey, list]) -> WindowResult:
    (entity, start), acc = keyed
    values = {
        label: measure.result(acc[i])
        for i, (label, measure) in enumerate(zip(spec.names, spec.measures, strict=True), 1)
    }
    return WindowResult(entity, utc_time(start), utc_time(start + spec.window.size_us), values)


def _closed(window: Window, watermark: int | None, keyed: tuple[WindowKey, list]) -> bool:
    return window.closes(keyed[0][1], watermark)


def _still_open(window: Window, watermark: int | None, keyed: tuple[WindowKey, list]) -> bool:
    return not window.final(keyed[0][1], watermark)


def _expired(window: Window, watermark: int | None, keyed: tuple[WindowKey, list]) -> bool:
    start = keyed[0][1]
    return window.expired(start, watermark) and not window.closes(start, watermark)


def _latest(keyed: tuple[WindowKey, list]) -> int | None:
    return keyed[1][0]


def _window_start(keyed: tuple[WindowKey, list]) -> int:
    return keyed[0][1]


def _partials(spec: _Spec, events, watermark: int | None, counters: _Counters):
    return events.flatMap(partial(_assign, spec, watermark, counters)).combineByKey(
        partial(_create, spec), partial(_add, spec), partial(_merge, spec)
    )


# Batch


def _batch(name: str, spec: _Spec, events):
    counters = _Counters(events.context)
    with _LOCK:
        _BATCH_COUNTERS[name] = counters
    return _partials(spec, events, None, counters).flatMap(partial(_results, spec))


# Streaming: driver-side state by run id (``<n>:<name>``).


class _Windowing:
    """The open windows of one streaming ``per_entity``, and what it did so far."""

    def __init__(self, run_id: str, name: str, spec: _Spec, snapshots: Snapshots | None = None) -> None:
        self.id = run_id
        self.name = name
        self.spec = spec
        self.snapshots = snapshots
        self.state = None  # RDD of (WindowKey, accumulator): the open windows
        self.watermark: int | None = None
        self.latest_event: int | None = None  # the latest event time seen (the watermark without idle time)
        self.moved_at = clock()  # when latest_event last moved, by the driver's clock
        self.flush = False
        self.batches = 0
        self.cut_next = False  # the state was read from a snapshot, which a later batch deletes
        self.totals = Stats()
        self.lock = threading.Lock()

    def resume(self, state, watermark: int | None) -> None:
        """Start from saved open windows and watermark."""
        self.state, self.watermark, self.cut_next = state, watermark, state is not None
        self.latest_event, self.moved_at = watermark, clock()
        self.totals = Stats(watermark=None if watermark is None else utc_time(watermark))

    def step(self, rdd, batch_time: datetime | None = None):
        """Merge the batch into the open windows, advance the watermark, give the closed windows;
        save the open windows as the batch's snapshot when they are kept across restarts."""
        from pyspark import StorageLevel

        sc = rdd.context
        spec, window = self.spec, self.spec.window
        with self.lock:
            flush, self.flush = self.flush, False
        counters = _Counters(sc)
        partials = _partials(spec, rdd, self.watermark, counters)
        merged = (
            partials
            if self.state is None
            else self.state.union(partials).reduceByKey(partial(_merge, spec), sc.defaultParallelism)
        )
        merged.persist(StorageLevel.MEMORY_AND_DISK)
        watermark = self._advance(merged.map(_latest).fold(None, _later))
        if flush:
            last_start = merged.map(_window_start).fold(None, _later)
            if last_start is not None:
                watermark = _later(watermark, last_start + window.size_us + window.late_us)
        closed = merged.filter(partial(_closed, window, watermark)).flatMap(partial(_results, spec))
        closed.persist(StorageLevel.MEMORY_AND_DISK)
        still_open = merged.filter(partial(_still_open, window, watermark))
        still_open.persist(StorageLevel.MEMORY_AND_DISK)
        self.batches += 1
        if self.cut_next or self.batches % CHECKPOINT_EVERY == 0:
            _cut_lineage(sc, still_open)
            self.cut_next = False
        emitted, open_count = closed.count(), still_open.count()
        expired = merged.filter(partial(_expired, window, watermark)).count()
        if self.snapshots is not None and batch_time is not None:
            self.snapshots.save(epoch_ms(batch_time), still_open, watermark)
        merged.unpersist()
        if self.state is not None:
            self.state.unpersist()
        self.state, self.watermark = still_open, watermark
        self._count(emitted, open_count, expired, counters)
        return closed

    def _advance(self, latest: int | None) -> int | None:
        """The watermark after a batch whose open windows' latest event is ``latest``: the latest
        event time seen, or, once the source was quiet ``idle`` by the clock, that time plus how
        long it has been quiet."""
        now = clock()
        if latest is not None and (self.latest_event is None or latest > self.latest_event):
            self.latest_event, self.moved_at = latest, now
        watermark = _later(self.watermark, self.latest_event)
        idle = self.spec.window.idle
        quiet = now - self.moved_at
        if idle is not None and self.latest_event is not None and quiet >= idle.total_seconds():
            watermark = _later(watermark, self.latest_event + round(quiet * 1_000_000))
        return watermark

    def _count(self, emitted: int, open_count: int, expired: int, counters: _Counters) -> None:
        totals = self.totals
        late, no_time = counters.late.value, counters.no_time.value
        self.totals = Stats(
            emitted=totals.emitted + emitted,
            open=open_count,
            expired=totals.expired + expired,
            late=totals.late + late,
            no_entity=totals.no_entity + counters.no_entity.value,
            no_time=totals.no_time + no_time,
            watermark=None if self.watermark is None else utc_time(self.watermark),
        )
        if late or no_time:
            console.info(
                f"({self.name}) windows: {late} late events dropped, {no_time} without a time skipped"
            )
        if expired:
            keep = self.spec.window.keep
            console.info(f"({self.name}) windows: {expired} dropped unemitted, open {keep} past their end")

    def release(self) -> None:
        if self.state is not None:
            self.state.unpersist()
            self.state = None


def _cut_lineage(sc, rdd) -> None:
    """Checkpoint ``rdd`` at its next action: to the checkpoint directory (streaming sets one),
    else to executors' local storage."""
    if sc._jsc.sc().getCheckpointDir().isDefined():
        rdd.checkpoint()
    else:
        rdd.localCheckpoint()


_RUNS: dict[str, _Windowing] = {}
_BATCH_COUNTERS: dict[str, _Counters] = {}
_LOCK = threading.Lock()
_IDS = itertools.count()


def _register(name: str, spec: _Spec, sc=None, shape: dict[str, Any] | None = None) -> str:
    """Register a stream's windowing; inside ``state_folder``, resumed from its saved windows."""
    run_id = f"{next(_IDS)}:{name}"
    wiring = WIRING.get()
    snapshots = None
    if wiring is not None and sc is not None:
        folder = f"{wiring.location.rstrip('/')}/windows-{folder_name(name)}"
        with _LOCK:
            taken = any(
                run.snapshots is not None and run.snapshots.folder == folder for run in _RUNS.values()
            )
        if taken:
            raise ValueError(
                f"per_entity({name!r}): {wiring.usecase} has windows named {name!r} already: name each apart"
            )
        snapshots = Snapshots(sc, folder, wiring, shape or {})
    windowing = _Windowing(run_id, name, spec, snapshots)
    if snapshots is not None:
        windowing.resume(*snapshots.load())
    with _LOCK:
        _RUNS[run_id] = windowing
    return run_id


def _windowing(run_id: str) -> _Windowing:
    """The registered windowing. Closures call this instead of reading ``_RUNS``: cloudpickle
    copies the globals a closure reads into the checkpoint, but pickles a module's function by name."""
    running = _RUNS.get(run_id)
    if running is None:
        raise RuntimeError(f"windows {run_id} are not registered in this driver")
    return running


def _stepper(run_id: str):
    def step(batch_time, rdd):
        return _windowing(run_id).step(rdd, batch_time)

    return step


def batch_delivered(usecase: str, batch_time: datetime) -> None:
    """Use case ``usecase`` delivered the batch of ``batch_time`` (Spark's batch time, as
    ``foreachRDD`` gives it) and every earlier one: the saved windows of the streams reading its
    input move on to that batch once every use case reading the input delivered it."""
    ms = epoch_ms(batch_time)
    with _LOCK:
        saved = [run.snapshots for run in _RUNS.values() if run.snapshots is not None]
    for snapshots in saved:
        snapshots.delivered(usecase, ms)


def _named(name: str | None) -> list[_Windowing]:
    with _LOCK:
        return [run for run in _RUNS.values() if name is None or run.name == name]


def flush_at_next_batch(name: str | None = None) -> None:
    """Make the next batch close every open window of ``name``'s streams (of every stream when
    None), as if the watermark reached their end: ``datashark test`` calls it after the last events.
    Events that arrive later for those windows are late."""
    for run in _named(name):
        with run.lock:
            run.flush = True


def stats(name: str) -> Stats:
    """What the latest ``per_entity`` named ``name`` did so far (in a batch run: its skipped
    events, known once its rows were computed)."""
    runs = _named(name)
    if runs:
        return runs[-1].totals
    with _LOCK:
        counters = _BATCH_COUNTERS.get(name)
    if counters is None:
        raise KeyError(f"no windows named {name!r} in this driver")
    return Stats(no_entity=counters.no_entity.value, no_time=counters.no_time.value)


def batch_notes() -> list[str]:
    """One line per batch ``per_entity`` whose computed rows skipped events without a readable
    time (a batch run prints them after delivery, as a stream prints its per-batch line), then
    forgets those runs' counters."""
    with _LOCK:
        counted = list(_BATCH_COUNTERS.items())
        _BATCH_COUNTERS.clear()
    return [
        f"({name}) windows: {counters.no_time.value} events without a time skipped "
        "(is @timestamp set? see time_field / time_format)"
        for name, counters in counted
        if counters.no_time.value
    ]


def release(name: str | None = None) -> None:
    """Forget ``name``'s streams (every stream's when None) and free their open windows' cached
    state: for the end of a streaming run, whose open windows are lost anyway."""
    with _LOCK:
        gone = [run_id for run_id, run in _RUNS.items() if name is None or run.name == name]
        runs = [_RUNS.pop(run_id) for run_id in gone]
        if name is None:
            _BATCH_COUNTERS.clear()
        else:
            _BATCH_COUNTERS.pop(name, None)
    for run in runs:
        run.release()
