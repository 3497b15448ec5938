"""The checkpoint folder of one streaming run: private (0700) while the run lasts, removed at its end.

Spark writes the stream's metadata and the data of stateful streams (windows) there, that is raw
events, with Hadoop's default modes; a folder only its owner may enter keeps them from other users
wherever it is (the driver's disk or ``hdfs://``). Both calls go through Spark's own Hadoop
filesystem, so every scheme Spark can checkpoint to is handled alike.
"""

from __future__ import annotations

from datashark import console
from datashark.files.private import private_hadoop_folder


def private_checkpoint(sc, base: str) -> str:
    """``<base>/<application id>``, created 0700 (``base`` too, when it does not exist yet)."""
    location = f"{base.rstrip('/')}/{sc.applicationId}"
    hadoop = sc._jvm.org.apache.hadoop.fs
    path = hadoop.Path(location)
    if not path.getFileSystem(sc._jsc.hadoopConfiguration()).exists(path.getParent()):
        private_hadoop_folder(sc, path.getParent())
    private_hadoop_folder(sc, path)
    return location


def remove_checkpoint(sc, location: str) -> None:
    """Delete the run's checkpoint; a failure is a warning (the run itself went as it went)."""
    try:
        hadoop = sc._jvm.org.apache.hadoop.fs
        path = hadoop.Path(location)
        path.getFileSystem(sc._jsc.hadoopConfiguration()).delete(path, True)
    except Exception as err:  # py4j raises assorted types; the user removes it by hand
        console.to_stderr(f"[!] could not remove the checkpoint {location}: {type(err).__name__}")
