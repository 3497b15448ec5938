"""The lookups of a use case while it runs: read on the driver, broadcast, read again every
``refresh`` while a stream runs, and the ``Lookups`` mapping ``load()`` gets.

``LookupSet`` lives in the prepared use case, on the driver: it holds the sources (an
Elasticsearch lookup's credentials among them) and is kept in ``driver_objects``' registry
while the use case runs. ``Lookups`` holds only its id, the names and, once pickled, the
broadcasts: what ``load()``'s functions close over is written into streaming checkpoints and
shipped to executors, and must hold no secret.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from datashark import console
from datashark.detect import driver_objects
from datashark.errors import DataSharkError
from datashark.lookups.conf import Lookup, lookups_of
from datashark.lookups.shape import size

if TYPE_CHECKING:
    from datashark.config.usecase import UseCase


class LiveLookup:
    """One lookup's value on the driver and its broadcast; ``current()`` reads the source again
    first when ``refresh`` seconds passed since the last read, and broadcasts the new value when
    it changed. A read that fails keeps the previous value, with one console line."""

    def __init__(
        self,
        lookup: Lookup,
        value: Any,
        broadcast: Callable[[Any], Any],
        *,
        sc=None,
        refresh: float | None = None,
        label: str = "",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.lookup = lookup
        self.value = value
        self.broadcast = broadcast  # value -> a broadcast (the SparkContext's, in a run)
        self.sc = sc  # for lookups on HDFS
        self.refresh = refresh
        self.label = label  # (Use Case) lookup 'name', for console lines
        self.clock = clock
        self.shared = broadcast(value)
        self.read_at = clock()
        self.lock = threading.Lock()

    def current(self) -> Any:
        """The broadcast of the current value, read again first if due."""
        with self.lock:
            if self.refresh is None or self.clock() - self.read_at < self.refresh:
                return self.shared
            self.read_at = self.clock()
            try:
                fresh = self.lookup.load(self.sc)
            except DataSharkError as err:
                console.info(f"{self.label} not refreshed, the previous value stays in use: {err}")
                return self.shared
            if fresh == self.value:
                return self.shared
            previous, self.value, self.shared = self.shared, fresh, self.broadcast(fresh)
            _unpersist(previous)
            console.info(f"{self.label} refreshed: {size(fresh)} entries")
            return self.shared

    def current_value(self) -> Any:
        """The current value itself (the driver's copy), read again first if due."""
        self.current()
        return self.value

    def release(self) -> None:
        _unpersist(self.shared)


class LookupSet:
    """A use case's lookups on the driver: read when the use case is prepared (those on HDFS
    once Spark has started), broadcast by ``start``, released by ``stop``."""

    def __init__(
        self, usecase_name: str, lookups: tuple[Lookup, ...] = (), values: dict[str, Any] | None = None
    ) -> None:
        self.usecase_name = usecase_name
        self.lookups = lookups
        self.values: dict[str, Any] = dict(values or {})  # read already, by name
        self.live: dict[str, LiveLookup] = {}
        self.set_id: str | None = None

    @classmethod
    def of(cls, usecase: UseCase) -> LookupSet:
        """The conf's lookups checked, and read (but those read through Spark); a ConfigError
        naming the file, lookup and key when one cannot be."""
        lookups = lookups_of(usecase)
        found = cls(usecase.name, lookups)
        for lookup in lookups:
            if not lookup.needs_spark:
                found.values[lookup.name] = found._read(lookup, None)
        return found

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(lookup.name for lookup in self.lookups)

    def start(self, sc, *, refresh: bool = False) -> Lookups:
        """Broadcast every value (reading those on HDFS first) and register the set, for the
        ``Lookups`` handed to ``load()``; ``refresh``: a stream's, read again as the conf says.
        Started already: the same handle."""
        if self.set_id is None:
            for lookup in self.lookups:
                read = lookup.name in self.values
                self.live[lookup.name] = LiveLookup(
                    lookup,
                    self.values.pop(lookup.name) if read else self._read(lookup, sc),
                    sc.broadcast,
                    sc=sc,
                    refresh=lookup.refresh if refresh else None,
                    label=self._label(lookup),
                )
            self.set_id = driver_objects.keep(self, "lookups")
        return Lookups(self.set_id, self.names)

    def current(self, name: str) -> LiveLookup:
        return self.live[name]

    def stop(self) -> None:
        """Unregister the set and free its broadcasts (a later ``start`` reads everything again)."""
        if self.set_id is not None:
            driver_objects.forget(self.set_id)
            self.set_id = None
        for live in self.live.values():
            live.release()
        self.live.clear()

    def _read(self, lookup: Lookup, sc) -> Any:
        value = lookup.load(sc)
        console.info(f"{self._label(lookup)}: {size(value)} entries from {lookup.source.describe()}")
        return value

    def _label(self, lookup: Lookup) -> str:
        return f"({self.usecase_name}) lookup '{lookup.name}'"


class Lookups(Mapping[str, Any]):
    """What ``load()`` gets as ``lookups``: each lookup's value, by its name in ``[lookups]``.

    On the driver (in ``load()`` itself, or in a function given to ``transform``/``foreachRDD``,
    which Spark calls on the driver at each batch) ``lookups["assets"]`` is the current value,
    read again first when its ``refresh`` is due. A function that runs on the executors (given
    to ``map``, ``filter``...) may close over ``lookups`` too: it is pickled with the broadcast
    of each lookup as it is when the function is shipped — at each batch, in a stream — and
    ``lookups["assets"]`` there reads that broadcast. ``lookups.broadcast("assets")`` is the
    broadcast itself, to close over instead (its ``.value`` is the value).
    """

    def __init__(self, set_id: str | None = None, names: tuple[str, ...] = ()) -> None:
        self._set_id = set_id
        self._names = names
        self._shipped: dict[str, Any] = {}  # name -> broadcast, as pickled on the driver
        self._detached = False  # unpickled where the set is not registered: on an executor

    def __getitem__(self, name: str) -> Any:
        live = self._live(name)
        return live.current_value() if live is not None else self._from_driver(name).value

    def broadcast(self, name: str) -> Any:
        """The current broadcast of the lookup ``name`` (driver), or the one shipped (executor)."""
        live = self._live(name)
        return live.current() if live is not None else self._from_driver(name)

    def __contains__(self, name: object) -> bool:
        return name in self._names

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def __repr__(self) -> str:
        return f"Lookups({', '.join(self._names)})"

    def __getstate__(self) -> dict[str, Any]:
        shipped = {name: self.broadcast(name) for name in self._names} if self._running() else self._shipped
        return {"set_id": self._set_id, "names": self._names, "shipped": shipped}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._set_id = state["set_id"]
        self._names = tuple(state["names"])
        self._shipped = dict(state["shipped"])
        self._detached = False
        self._detached = self._running() is None  # once, not at every event a function reads

    def _running(self) -> LookupSet | None:
        """The set on this driver; None on an executor, or once the run ended."""
        if self._set_id is None or self._detached:
            return None
        try:
            return driver_objects.kept(self._set_id)
        except RuntimeError:
            return None

    def _live(self, name: str) -> LiveLookup | None:
        if name not in self._names:
            known = ", ".join(self._names) or "none: the conf has no [lookups]"
            raise KeyError(f"no lookup named {name!r} (this use case's lookups: {known})")
        running = self._running()
        return running.current(name) if running is not None else None

    def _from_driver(self, name: str) -> Any:
        if name not in self._shipped:
            raise RuntimeError(
                f"lookup {name!r} is reached on the driver while its use case runs, or on an "
                "executor from a function that closed over lookups"
            )
        return self._shipped[name]


def _unpersist(broadcast: Any) -> None:
    """Drop the executors' copies of a broadcast replaced or done with; the driver keeps its own
    until no batch needs it."""
    if hasattr(broadcast, "unpersist"):
        broadcast.unpersist(blocking=False)
