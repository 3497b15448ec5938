"""The folder stream of ``input = file``: every file that appears in a folder is read once, whatever its age.

Spark's ``textFileStream`` reads only files modified during the current batch, so a log moved in
with its old timestamp was skipped without a word. Here, at each batch, the driver lists the folder
(local or ``hdfs://``, through Spark's Hadoop filesystem) and takes every file it has not read yet.
A file is known by its name, size and modification time: one that appears, grows or is replaced is
read again, whole. Names starting with ``.`` or ``_`` or ending ``._COPYING_`` or ``.tmp`` are files
still being written and wait until they are renamed.

What was read is kept in ``<checkpoint.dir>/<use case>/in_file-seen.json`` (see ``state_file``).
A file counts as read once every use case reading the stream delivered the batch that read it, so
the files of a failed batch, or of one in flight at a stop, are read again at the next start. At
the first start (no state yet), ``existing = skip`` counts the files already there as read.

Functions given to ``transform`` are pickled into the checkpoint at every batch, so they hold a
source id and reach the driver-side state through ``source()`` (as in ``kafka/stream.py``).
"""

from __future__ import annotations

import itertools
import re
import threading
from dataclasses import dataclass
from typing import Any

from datashark import console
from datashark.config.usecase import folder_name
from datashark.errors import ConfigError
from datashark.events.whole_files import FileRecords
from datashark.files.state_file import StateFile
from datashark.run.batch_source import batch_source

FORMAT = "datashark-in_file-seen-1"
STATE_NAME = "in_file-seen.json"
HIDDEN_PREFIXES = (".", "_")
PARTIAL_SUFFIXES = ("._COPYING_", ".tmp")
GLOB_SPECIALS = re.compile(r"([\\\[\]{}*?,])")

FileId = tuple[int, int]  # (size in bytes, modification time in ms)

# Driver-side: the folder streams of this process by source id; the input's close() unregisters its own.
_SOURCES: dict[str, FolderSource] = {}
_REGISTRY_LOCK = threading.Lock()
_IDS = itertools.count()


@dataclass(frozen=True)
class ListedFile:
    """One file of the folder as the driver listed it."""

    name: str
    uri: str
    size: int
    mtime: int  # ms since the epoch

    @property
    def identity(self) -> FileId:
        return (self.size, self.mtime)


def is_complete(name: str) -> bool:
    """False for names that copy tools and editors give a file still being written."""
    return not name.startswith(HIDDEN_PREFIXES) and not name.endswith(PARTIAL_SUFFIXES)


class SeenFiles:
    """Which files were read (delivered by every reader) and which are in flight, by batch.

    Pure logic: ``take`` hands out the files of a listing not taken before; ``delivered``
    moves a batch's files into ``seen`` once every consumer delivered it.
    """

    def __init__(self, seen: dict[str, FileId]) -> None:
        self.seen = dict(seen)
        self.taken = dict(seen)  # seen, or handed to a batch of this run
        self.present: set[str] = set(seen)
        self.consumers: set[str] = set()
        self.batches: dict[Any, dict[str, FileId]] = {}
        self.delivered_by: dict[Any, set[str]] = {}

    def take(self, listing: list[ListedFile], batch_time: Any) -> list[ListedFile]:
        """The files of ``listing`` to read in the batch of ``batch_time``."""
        self.present = {listed.name for listed in listing}
        new = [listed for listed in listing if self.taken.get(listed.name) != listed.identity]
        self.taken = {name: ident for name, ident in self.taken.items() if name in self.present}
        self.taken.update((listed.name, listed.identity) for listed in new)
        if self.consumers:  # a debug run delivers nothing, so records nothing
            self.batches[batch_time] = {listed.name: listed.identity for listed in new}
        return new

    def delivered(self, consumer: str, batch_time: Any) -> bool:
        """``consumer`` delivered the batch; True when ``seen`` changed (so it should be saved)."""
        done = self.delivered_by.setdefault(batch_time, set())
        done.add(consumer)
        if not self.consumers <= done:
            return False
        del self.delivered_by[batch_time]
        read = self.batches.pop(batch_time, {})
        if not read:
            return False
        self.seen.update(read)
        # Files gone from the folder are forgotten, so the state does not grow without end.
        self.seen = {name: ident for name, ident in self.seen.items() if name in self.present or name in read}
        return True

    def failed(self, batch_time: Any) -> None:
        """The batch will not be delivered: its files stay unread for the next start."""
        self.batches.pop(batch_time, None)
        self.delivered_by.pop(batch_time, None)


def document(folder: str, seen: dict[str, FileId]) -> dict[str, Any]:
    """The state file's content."""
    return {"format": FORMAT, "folder": folder, "files": {name: list(ident) for name, ident in seen.items()}}


def seen_in(stored: Any, folder: str, where: str) -> dict[str, FileId] | None:
    """The files ``stored`` records as read in ``folder``; None when it records another folder."""
    if not isinstance(stored, dict) or stored.get("format") != FORMAT:
        raise ConfigError(f"{where}: not a dataShark in_file state: delete it to start afresh")
    if stored.get("folder") != folder:
        return None
    try:
        return {str(name): (int(size), int(mtime)) for name, (size, mtime) in stored["files"].items()}
    except (KeyError, TypeError, ValueError, AttributeError):
        raise ConfigError(f"{where}: unreadable in_file state: delete it to start afresh") from None


def state_location(checkpoint_dir: str, usecase_name: str) -> str:
    """``<checkpoint.dir>/<use case slug>/in_file-seen.json``: stable across runs."""
    return f"{checkpoint_dir.rstrip('/')}/{folder_name(usecase_name)}/{STATE_NAME}"


def hadoop_inputs(uris: list[str]) -> list[str]:
    """Input paths for ``binaryFiles`` naming exactly these files: Hadoop reads a path as a glob
    and a comma as a separator, so specials are escaped; the plain ones share one comma-joined
    path, the others (a comma or brace in the name) get one each, a comma's name wrapped in braces."""
    plain = [GLOB_SPECIALS.sub(r"\\\1", uri) for uri in uris if not set(uri) & set(",{}")]
    own = [_braced(uri) for uri in uris if set(uri) & set(",{}")]
    return ([",".join(plain)] if plain else []) + own


def _braced(uri: str) -> str:
    folder, _, name = uri.rpartition("/")
    folder, name = GLOB_SPECIALS.sub(r"\\\1", folder), GLOB_SPECIALS.sub(r"\\\1", name)
    return f"{folder}/{{{name}}}" if "," in name else f"{folder}/{name}"


def readable(uri: str) -> bool:
    """False for the paths ``hadoop_inputs`` cannot express: a comma in a folder's name, or a
    name holding both a comma and a brace."""
    folder, _, name = uri.rpartition("/")
    return "," not in folder and not ("," in name and set(uri) & set("{}"))


class FolderSource:
    """The driver-side state of one folder stream: what was read, and where that is kept."""

    def __init__(
        self, source_id: str, sc, folder: str, state: StateFile, existing: str, at_start: list[ListedFile]
    ) -> None:
        self.id = source_id
        self.sc = sc
        self.folder = folder
        self.state = state
        self.at_start = at_start  # the folder when the run started: what ``existing`` is about
        self.lock = threading.Lock()
        stored = load_seen(state, folder)
        self.saved = stored is not None
        if stored is None:
            stored = {listed.name: listed.identity for listed in at_start} if existing == "skip" else {}
        self.files = SeenFiles(stored)

    def next_files(self, batch_time: Any) -> list[str]:
        """The URIs of the files this batch reads."""
        listing = list_folder(self.sc, self.folder)
        with self.lock:
            new = self.files.take(listing, batch_time)
        uris = []
        for listed in new:
            if readable(listed.uri):
                uris.append(listed.uri)
            else:
                console.to_stderr(f"[!] {listed.uri}: Hadoop cannot read this name (a comma): rename it")
        return uris

    def track(self, consumer: str) -> None:
        with self.lock:
            self.files.consumers.add(consumer)
            if not self.saved:  # the first start's decision on the files already there
                self._save()

    def delivered(self, consumer: str, batch_time: Any) -> None:
        with self.lock:
            if self.files.delivered(consumer, batch_time):
                self._save()

    def failed(self, batch_time: Any) -> None:
        with self.lock:
            self.files.failed(batch_time)

    def _save(self) -> None:
        self.state.save(document(self.folder, self.files.seen))
        self.saved = True


def load_seen(state: StateFile, folder: str) -> dict[str, FileId] | None:
    """The files ``state`` records as read in ``folder``; None at the first start (or when
    the state recorded another folder: ``folder_path`` was changed)."""
    try:
        stored = state.load()
    except ValueError:
        raise ConfigError(f"{state}: unreadable in_file state: delete it to start afresh") from None
    if stored is None:
        return None
    seen = seen_in(stored, folder, str(state))
    if seen is None:
        console.to_stderr(f"[!] {state}: records another folder: {folder} starts afresh ('existing' applies)")
    return seen


def list_folder(sc, folder: str) -> list[ListedFile]:
    """The complete files directly in ``folder`` (none while it does not exist), on the driver."""
    hadoop = sc._jvm.org.apache.hadoop.fs
    path = hadoop.Path(folder)
    filesystem = path.getFileSystem(sc._jsc.hadoopConfiguration())
    if not filesystem.exists(path):
        return []
    listing = []
    for status in filesystem.listStatus(path):
        file_path = status.getPath()
        name = file_path.getName()
        if status.isFile() and is_complete(name):
            uri = file_path.toString()
            listing.append(ListedFile(name, uri, status.getLen(), status.getModificationTime()))
    return listing


def register(sc, folder: str, location: str, existing: str, usecase_name: str) -> FolderSource:
    """A new source reading ``folder`` for one use case, its state at ``location``.

    Use cases of one run that watch the same folder see the same files as already there at
    the start: the listing of the first one wired, not one taken seconds later.
    """
    source_id = f"{next(_IDS)}:{usecase_name}"
    with _REGISTRY_LOCK:
        earlier = [other.at_start for other in _SOURCES.values() if other.folder == folder]
    at_start = earlier[0] if earlier else list_folder(sc, folder)
    folder_source = FolderSource(source_id, sc, folder, StateFile(sc, location), existing, at_start)
    with _REGISTRY_LOCK:
        _SOURCES[source_id] = folder_source
    return folder_source


def source(source_id: str) -> FolderSource | None:
    """The registered source. Closures call this instead of reading ``_SOURCES``: cloudpickle
    copies the globals a closure reads into the checkpoint, but pickles a module's function by name."""
    return _SOURCES.get(source_id)


def unregister(source_id: str) -> None:
    with _REGISTRY_LOCK:
        _SOURCES.pop(source_id, None)


def dstream(ssc, folder_source: FolderSource, records: FileRecords):
    """A DStream of the records of the folder's new files, as ``records`` reads each file whole:
    lines (text; ``bytes`` for non-UTF-8 lines), or events parsed from Zeek logs and JSON arrays."""
    source_id = folder_source.id

    def batch(batch_time, tick):
        return _batch_rdd(source_id, records, batch_time, tick)

    return batch_source(ssc, batch)


def _batch_rdd(source_id: str, records: FileRecords, batch_time, tick):
    sc = tick.context
    running = source(source_id)
    if running is None:
        raise RuntimeError(f"folder stream {source_id} is not registered in this driver")
    uris = running.next_files(batch_time)
    if not uris:
        return sc.parallelize([], 1).flatMap(records)
    files = [sc.binaryFiles(inputs) for inputs in hadoop_inputs(uris)]
    return (files[0] if len(files) == 1 else sc.union(files)).flatMap(records)
