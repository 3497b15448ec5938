"""Folders and files only dataShark's user may open: raw events, state and secrets live in them.

Folders are ``0700`` and files ``0600`` whatever the umask (``mkdir`` and Hadoop's ``mkdirs``
apply it on top of the mode asked for, so the mode is set again afterwards). A folder that
already exists is someone's choice and is left as it is.
"""

from __future__ import annotations

import os
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
