"""A small JSON file of state that outlives a run: private, replaced atomically, local or ``hdfs://``.

It lives under ``checkpoint.dir`` beside the runs' own checkpoints, but is never removed at a
stop. The folder is created ``0700`` and the file ``0600``: a new version is written beside the
old one and renamed over it, so a crash leaves the old version or the new, never half of one.
Paths without a scheme are written with Python on the driver's disk (Hadoop's local filesystem
would add ``.crc`` files); any other scheme goes through Spark's Hadoop filesystem.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from datashark.files.paths import has_scheme
from datashark.files.private import FILE_MODE, private_hadoop_folder, write_private


class StateFile:
    """The JSON document at ``location``; ``sc`` is needed for locations with a scheme only."""

    def __init__(self, sc, location: str) -> None:
        self.location = location
        self._store = _HadoopStore(sc, location) if has_scheme(location) else _LocalStore(Path(location))

    def __str__(self) -> str:
        return self.location

    def load(self) -> Any | None:
        """The stored document, or None when there is none yet; ValueError if it is not JSON."""
        text = self._store.read()
        return None if text is None else json.loads(text)

    def save(self, document: Any) -> None:
        self._store.replace(json.dumps(document, separators=(",", ":"), sort_keys=True))


class _LocalStore:
    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self) -> str | None:
        try:
            return self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None

    def replace(self, text: str) -> None:
        write_private(self.path, text)


class _HadoopStore:
    """The file through Spark's Hadoop filesystem (``hdfs://``, ``file://``, ...), on the driver."""

    def __init__(self, sc, location: str) -> None:
        self.sc = sc
        self.location = location

    def _hadoop(self):
        return self.sc._jvm.org.apache.hadoop.fs

    def _filesystem(self, path):
        return path.getFileSystem(self.sc._jsc.hadoopConfiguration())

    def read(self) -> str | None:
        path = self._hadoop().Path(self.location)
        filesystem = self._filesystem(path)
        if not filesystem.exists(path):
            return None
        stream = filesystem.open(path)
        try:
            return self.sc._jvm.org.apache.commons.io.IOUtils.toString(stream, "UTF-8")
        finally:
            stream.close()

    def replace(self, text: str) -> None:
        hadoop = self._hadoop()
        path = hadoop.Path(self.location)
        filesystem = self._filesystem(path)
        folder = path.getParent()
        if not filesystem.exists(folder):
            private_hadoop_folder(self.sc, folder)
        tmp = hadoop.Path(folder, f".{path.getName()}.{uuid.uuid4().hex}")
        stream = filesystem.create(tmp, False)
        try:
            filesystem.setPermission(tmp, hadoop.permission.FsPermission(format(FILE_MODE, "o")))
            stream.write(bytearray(text.encode("utf-8")))
        finally:
            stream.close()
        overwrite = self.sc._gateway.new_array(hadoop.Options.Rename, 1)
        overwrite[0] = hadoop.Options.Rename.OVERWRITE
        context = hadoop.FileContext.getFileContext(path.toUri(), self.sc._jsc.hadoopConfiguration())
        context.rename(tmp, path, overwrite)
