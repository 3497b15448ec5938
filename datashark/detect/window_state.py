"""Where a stream's open windows are kept across a stop and a restart (see ``windows``).

After each batch a streaming ``per_entity`` saves its open windows and watermark as a snapshot
named by the batch's time, under ``<checkpoint.dir>/<use case>/windows-<name>/``; ``current.json``
names the snapshot of the latest batch every reader of the input delivered, which is what a
restart resumes from. Snapshots are written on the driver's disk (0600 files in 0700 folders)
or, for ``hdfs://`` and ``file://`` locations, through Spark's Hadoop file system.
"""

from __future__ import annotations

import itertools
import os
import pickle
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from datashark import console
from datashark.config.usecase import folder_name
from datashark.errors import ConfigError
from datashark.files.paths import has_scheme
from datashark.files.private import FILE_MODE, private_folder, private_hadoop_folder
from datashark.files.state_file import StateFile
from datashark.run.acknowledgements import epoch_ms

__all__ = ["WIRING", "Snapshots", "epoch_ms", "state_folder", "usecase_state"]

STATE_FORMAT = "datashark-windows-1"
CURRENT = "current.json"
SNAPSHOT_CHUNK = 1000  # open windows per pickle in a snapshot on the driver's disk


# Across restarts: where the use case being wired keeps its windows (run/streaming.py sets it).


@dataclass(frozen=True)
class StateFolder:
    """The stable folder of the use case being wired (``<checkpoint.dir>/<use case>``), its name,
    the names of the use cases reading the same input (a batch counts as delivered once all of
    them delivered it, as the input counts it read), and whether the run saves (``-d`` only loads)."""

    location: str
    usecase: str
    readers: frozenset[str]
    save: bool = True


WIRING: ContextVar[StateFolder | None] = ContextVar("datashark_windows_wiring", default=None)


def usecase_state(checkpoint_dir: str, usecase_name: str) -> str:
    """``<checkpoint.dir>/<use case slug>``: the use case's own state folder, stable across runs
    (its ``in_file`` input keeps what it read there too)."""
    return f"{checkpoint_dir.rstrip('/')}/{folder_name(usecase_name)}"


@contextmanager
def state_folder(
    location: str, usecase: str, *, readers: Iterable[str] = (), save: bool = True
) -> Iterator[StateFolder]:
    """Within this block, streaming ``per_entity`` calls keep their open windows under
    ``location`` (see ``usecase_state``) for use case ``usecase``, whose input ``readers`` read too."""
    folder = StateFolder(location, usecase, frozenset(readers) | {usecase}, save)
    token = WIRING.set(folder)
    try:
        yield folder
    finally:
        WIRING.reset(token)


class Snapshots:
    """The saved open windows of one streaming ``per_entity``: a snapshot per batch in ``folder``,
    and ``current.json`` naming the one of the latest batch delivered by every reader."""

    def __init__(self, sc, folder: str, owner: StateFolder, shape: dict[str, Any]) -> None:
        self.folder = folder
        self.owner = owner
        self.shape = shape
        self.files = _HadoopSnapshots(sc, folder) if has_scheme(folder) else _LocalSnapshots(sc, Path(folder))
        self.current_file = StateFile(sc, f"{folder}/{CURRENT}")
        self.current: int | None = None
        self.pending: dict[int, int | None] = {}  # batch ms -> watermark: saved, not yet current
        self.delivered_by: dict[str, int] = {}  # reader -> latest batch ms it delivered
        self.lock = threading.Lock()

    def load(self) -> tuple[Any, int | None]:
        """The open windows (an RDD) and watermark of the current snapshot, (None, None) when
        there is none; snapshots of batches never delivered are deleted."""
        try:
            stored = self.current_file.load()
        except ValueError:
            raise ConfigError(
                f"{self.current_file}: unreadable windows state: delete it to start afresh"
            ) from None
        state, watermark = None, None
        if stored is not None:
            snapshot, watermark, shape = _current_in(stored, str(self.current_file))
            if shape != self.shape:
                console.to_stderr(
                    f"[!] {self.current_file}: saved by other windows or measures: they start empty"
                )
                watermark = None
            else:
                state = self.files.read(str(snapshot))
                if state is None:
                    raise ConfigError(
                        f"{self.current_file}: its snapshot {snapshot} is missing: delete it to start afresh"
                    )
                self.current = snapshot
        self._delete_before(None)
        return state, watermark

    def save(self, ms: int, state, watermark: int | None) -> None:
        """Save the open windows after the batch of ``ms``; current once it is delivered."""
        if not self.owner.save:
            return
        self.files.write(str(ms), state)
        with self.lock:
            self.pending[ms] = watermark

    def delivered(self, reader: str, ms: int) -> None:
        """``reader`` delivered the batch of ``ms`` and every earlier one: once every reader
        did, that batch's snapshot becomes current and older ones are deleted."""
        with self.lock:
            if reader not in self.owner.readers:
                return
            self.delivered_by[reader] = max(ms, self.delivered_by.get(reader, ms))
            if set(self.delivered_by) != self.owner.readers:
                return
            done = min(self.delivered_by.values())
            if done not in self.pending or (self.current is not None and done <= self.current):
                return
            document = {
                "format": STATE_FORMAT,
                "snapshot": done,
                "watermark": self.pending[done],
                "shape": self.shape,
            }
            self.current_file.save(document)
            self.current = done
            self.pending = {t: w for t, w in self.pending.items() if t > done}
        self._delete_before(done)

    def _delete_before(self, ms: int | None) -> None:
        """Delete the snapshots older than ``ms`` (None: all but the current) and unfinished ones."""
        try:
            for name in self.files.names():
                snapshot = name.strip(".").removesuffix(".tmp")
                if not snapshot.isdigit():
                    continue
                unfinished = snapshot != name
                old = int(snapshot) < ms if ms is not None else int(snapshot) != self.current
                if (unfinished and ms is None) or (not unfinished and old):
                    self.files.delete(name)
        except Exception as err:  # a later batch deletes them; the saved state is right meanwhile
            console.to_stderr(f"[!] {self.folder}: could not delete old windows snapshots: {err}")


def _current_in(stored: Any, where: str) -> tuple[int, int | None, Any]:
    """(snapshot, watermark, shape) of ``current.json``."""
    if not isinstance(stored, dict) or stored.get("format") != STATE_FORMAT:
        raise ConfigError(f"{where}: not a dataShark windows state: delete it to start afresh")
    snapshot, watermark = stored.get("snapshot"), stored.get("watermark")
    if not isinstance(snapshot, int) or not (watermark is None or isinstance(watermark, int)):
        raise ConfigError(f"{where}: unreadable windows state: delete it to start afresh")
    return snapshot, watermark, stored.get("shape")


def _chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


class _LocalSnapshots:
    """Snapshots on the driver's disk (a path without a scheme, as ``StateFile``): one file each,
    0600 in a 0700 folder, written by the driver from the open windows' partitions."""

    def __init__(self, sc, folder: Path) -> None:
        self.sc = sc
        self.folder = folder

    def write(self, name: str, rdd) -> None:
        private_folder(self.folder.parent)
        private_folder(self.folder)
        tmp = self.folder / f".{name}.tmp"
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC
        handle = os.open(tmp, flags, FILE_MODE)
        try:
            with os.fdopen(handle, "wb") as out:
                for chunk in _chunks(rdd.toLocalIterator(), SNAPSHOT_CHUNK):
                    pickle.dump(chunk, out, protocol=pickle.HIGHEST_PROTOCOL)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self.folder / name)
        except BaseException:
            with suppress(FileNotFoundError):
                os.unlink(tmp)
            raise

    def read(self, name: str):
        try:
            handle = open(self.folder / name, "rb")  # noqa: SIM115 - read chunk by chunk below
        except FileNotFoundError:
            return None
        records: list[Any] = []
        with handle:
            while True:
                try:
                    records.extend(pickle.load(handle))
                except EOFError:
                    break
        return self.sc.parallelize(records, max(1, self.sc.defaultParallelism))

    def names(self) -> list[str]:
        return [path.name for path in self.folder.iterdir()] if self.folder.is_dir() else []

    def delete(self, name: str) -> None:
        with suppress(FileNotFoundError):
            (self.folder / name).unlink()


class _HadoopSnapshots:
    """Snapshots through Spark's Hadoop filesystem (``hdfs://``, ``file://``...): each a folder of
    pickle files the executors write (``saveAsPickleFile``), renamed into place once complete."""

    def __init__(self, sc, folder: str) -> None:
        self.sc = sc
        self.folder = folder.rstrip("/")

    def _path(self, name: str | None = None):
        hadoop = self.sc._jvm.org.apache.hadoop.fs
        return hadoop.Path(self.folder if name is None else f"{self.folder}/{name}")

    def _filesystem(self):
        return self._path().getFileSystem(self.sc._jsc.hadoopConfiguration())

    def write(self, name: str, rdd) -> None:
        filesystem, folder = self._filesystem(), self._path()
        if not filesystem.exists(folder):
            if not filesystem.exists(folder.getParent()):
                private_hadoop_folder(self.sc, folder.getParent())
            private_hadoop_folder(self.sc, folder)
        tmp, final = self._path(f"{name}.tmp"), self._path(name)
        filesystem.delete(tmp, True)
        rdd.saveAsPickleFile(tmp.toString())
        filesystem.delete(final, True)
        if not filesystem.rename(tmp, final):
            raise OSError(f"{final.toString()}: could not move the windows snapshot into place")

    def read(self, name: str):
        path = self._path(name)
        return self.sc.pickleFile(path.toString()) if self._filesystem().exists(path) else None

    def names(self) -> list[str]:
        filesystem, folder = self._filesystem(), self._path()
        if not filesystem.exists(folder):
            return []
        return [status.getPath().getName() for status in filesystem.listStatus(folder)]

    def delete(self, name: str) -> None:
        self._filesystem().delete(self._path(name), True)
