"""Folders and files only dataShark's user may open: raw events, state and secrets live in them.

Folders are ``0700`` and files ``0600`` whatever the umask (``mkdir`` and Hadoop's ``mkdirs``
apply it on top of the mode asked for, so the mode is set again afterwards). A folder that
already exists is someone's choice and is left as it is.
"""

from __future__ import annotations

import os
import uuid
from contextlib import suppress
from pathlib import Path

FOLDER_MODE = 0o700
FILE_MODE = 0o600


def private_folder(folder: Path) -> None:
    """Create ``folder`` (and missing parents) on this machine, ``0700``."""
    try:
        folder.mkdir(mode=FOLDER_MODE, parents=True)
    except FileExistsError:
        return
    os.chmod(folder, FOLDER_MODE)


def private_hadoop_folder(sc, folder) -> None:
    """Create ``folder`` (a Hadoop ``Path``; any scheme Spark's Hadoop filesystem reads) ``0700``,
    or make it so when it exists."""
    hadoop = sc._jvm.org.apache.hadoop.fs
    filesystem = folder.getFileSystem(sc._jsc.hadoopConfiguration())
    private = hadoop.permission.FsPermission(format(FOLDER_MODE, "o"))
    filesystem.mkdirs(folder, private)
    filesystem.setPermission(folder, private)


def write_private(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` at once (a reader sees the old file or the new, whole),
    ``0600``, in a private folder created if missing; synced to disk."""
    folder = path.parent
    private_folder(folder)
    tmp = folder / f".{path.name}.{uuid.uuid4().hex}"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    handle = os.open(tmp, flags, FILE_MODE)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
