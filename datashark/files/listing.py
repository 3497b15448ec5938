"""The files behind a use case's ``file`` or ``training``: what Spark will read, as Hadoop lists it.

A location may be a file, a folder or a glob, local or on HDFS; Hadoop's own file system API
lists it, so the answer is the one ``textFile`` acts on (hidden ``.``/``_`` files in a folder are
skipped, as Hadoop's input formats skip them).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

MAX_PEEKED_BYTES = 64  # of a file's start, to see how its events are written


@dataclass(frozen=True)
class ListedInput:
    """One file Spark will read: its URI and its modification time (UTC)."""

    uri: str
    modified: datetime


def input_files(sc, location: str) -> list[ListedInput]:
    """The files ``location`` names, in name order; [] when it names none."""
    path, fs = _hadoop_path(sc, location)
    found: list[ListedInput] = []
    for status in fs.globStatus(path) or []:
        statuses = fs.listStatus(status.getPath()) if status.isDirectory() else [status]
        for entry in statuses:
            name = entry.getPath().getName()
            if entry.isFile() and (entry is status or not name.startswith((".", "_"))):
                modified = datetime.fromtimestamp(entry.getModificationTime() / 1000, timezone.utc)
                found.append(ListedInput(entry.getPath().toString(), modified))
    return sorted(found, key=lambda listed: listed.uri)


def newest_modification(sc, location: str) -> datetime | None:
    """When the newest of ``location``'s files was last written: where a batch run places the
    times its logs write without a year. None when it names no file."""
    listed = input_files(sc, location)
    return max(entry.modified for entry in listed) if listed else None


def first_character(sc, uri: str) -> str | None:
    """The file's first character after a byte-order mark and white space: ``[`` starts a JSON
    file that is one array of events, ``{`` one JSON object a line, ``#`` a Zeek TSV header.
    None for an empty file or one that starts with no text (a gzip file's magic bytes)."""
    path, fs = _hadoop_path(sc, uri)
    stream = fs.open(path)
    try:
        for _ in range(MAX_PEEKED_BYTES):
            byte = stream.read()
            if byte < 0:
                return None
            if byte in b" \t\r\n\xef\xbb\xbf":
                continue
            return chr(byte) if byte < 0x80 else None
        return None
    finally:
        stream.close()


def _hadoop_path(sc, location: str):
    hadoop_fs = sc._jvm.org.apache.hadoop.fs
    path = hadoop_fs.Path(location)
    return path, path.getFileSystem(sc._jsc.hadoopConfiguration())
