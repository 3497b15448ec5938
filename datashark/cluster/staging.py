"""A production run's use-case data, copied to HDFS so executors on any machine can read it.

Each run gets ``<hdfs.staging.dir>/<app name>/``, in which every use case's folder keeps its
name and layout, so two use cases' ``data.txt`` never meet (``conf/wordcount/wordcount.txt`` is staged as
``<run>/wordcount/wordcount.txt``); data named outside the folder goes under
``<folder>/_external/<absolute path>``. Only what Spark reads (``file``, ``training``) is copied;
a streaming use case without ``training`` stages nothing.
The run folder also holds the streaming checkpoint, and the whole of it is removed at the end.
"""

from __future__ import annotations

import glob
import os
import posixpath
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from datashark import console
from datashark.errors import ConfigError, DataSharkError
from datashark.files.paths import is_local, local_path
from datashark.files.webhdfs import webhdfs, webhdfs_errors

if TYPE_CHECKING:
    from datashark.config.settings import Settings
    from datashark.config.usecase import UseCase

EXTERNAL = "_external"
CHECKPOINT = "_checkpoint"


@dataclass(frozen=True)
class StagingArea:
    """Where a run's files are on HDFS; pure, so the driver and the tests agree on every path."""

    namenode: str  # hdfs://host:port
    root: str  # the run folder's absolute path

    @property
    def uri(self) -> str:
        return f"{self.namenode}{self.root}"

    @property
    def checkpoint(self) -> str:
        return f"{self.uri}/{CHECKPOINT}"

    def location(self, usecase: UseCase, location: str) -> str:
        """``location`` (a path or glob from the conf) as Spark should read it in this run."""
        return f"{self.uri}/{self.relative(usecase, location)}" if is_local(location) else location

    @staticmethod
    def relative(usecase: UseCase, location: str) -> str:
        """The staged path of a local file or pattern, relative to the run folder."""
        path = PurePosixPath(os.path.normpath(local_path(location)))
        folder = PurePosixPath(os.path.normpath(usecase.folder))
        if path.is_relative_to(folder):
            return str(folder.name / path.relative_to(folder))
        return f"{folder.name}/{EXTERNAL}{path}"


class Stager:
    """Copies the use cases' data to the run folder over WebHDFS, and removes the folder again.

    WebHDFS needs no Hadoop installation on the machine running ./start.sh; Spark then reads the
    copies over HDFS's own protocol (``hdfs.host``:``hdfs.port``). WebHDFS may be HTTPS
    (``hdfs.webhdfs.scheme``, ``hdfs.ca.file``) and log in with Kerberos (``hdfs.auth``).
    """

    def __init__(self, settings: Settings, app_name: str) -> None:
        if settings.hdfs_host is None:
            raise ValueError("staging needs hdfs.host")  # production stages only when it is set
        if find_spec("hdfs") is None:
            raise ConfigError(
                f"{settings.conf_path}: hdfs.host is set, and staging files on HDFS needs the hdfs "
                "package: pip install 'datashark[hdfs]'"
            )
        self.settings = settings
        self.app_name = app_name
        self.connection = webhdfs(
            settings.hdfs_host,
            settings.hdfs_webhdfs_port,
            scheme=settings.hdfs_webhdfs_scheme,
            user=settings.hdfs_user,
            auth=settings.hdfs_auth,
            ca_file=settings.hdfs_ca_file,
            where=settings.location,
            keys=("hdfs.webhdfs.scheme = http", "hdfs.ca.file", "hdfs.auth", "hdfs.user"),
        )
        self.client = self.connection.client()
        self.area: StagingArea | None = None

    def stage(self, usecases: list[UseCase]) -> StagingArea:
        """Copy every use case's local data; the area is kept from the start, so a failure or a
        Ctrl-C half-way still leaves ``remove`` something to remove."""
        settings = self.settings
        with self._errors("staging folder"):
            root = self.client.resolve(posixpath.join(settings.hdfs_staging_dir, self.app_name))
        self.area = StagingArea(f"hdfs://{settings.hdfs_host}:{settings.hdfs_port}", root)
        self._report_leftovers(posixpath.dirname(root))
        with self._errors(root):
            self.client.makedirs(root, permission="700")
        copied: set[str] = set()
        for usecase in usecases:
            for location in usecase.read_paths():
                if not is_local(location):
                    continue
                for local in sorted(glob.glob(local_path(location))):
                    staged = f"{root}/{self.area.relative(usecase, local)}"
                    if staged not in copied:
                        with self._errors(local):
                            self.client.upload(staged, local, overwrite=True)
                        copied.add(staged)
        return self.area

    def _report_leftovers(self, base: str) -> None:
        """Name the folders of earlier runs still there: a run killed with SIGKILL (or a power
        cut) cannot clean up, and only a person knows whether another run still uses them."""
        with self._errors(base):
            earlier = self.client.list(base) if self.client.status(base, strict=False) else []
        for name in earlier:
            console.to_stderr(
                f"[!] HDFS staging of an earlier run is still there: {base}/{name} "
                "(remove it unless that run is still going)"
            )

    def remove(self) -> None:
        """Delete the run folder (staged data and checkpoint); a no-op if nothing was staged."""
        if self.area is not None:
            with self._errors(self.area.root):
                self.client.delete(self.area.root, recursive=True)

    def _errors(self, what: str):
        return webhdfs_errors(
            f"HDFS staging ({what}, as {self.connection.who}, hdfs.* in {self.settings.conf_path})",
            self.connection,
            DataSharkError,
        )
