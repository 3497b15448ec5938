"""One run of dataShark: the settings it runs with, and what the run itself decided.

``Settings`` is datashark.conf as written; a production run that stages its data on HDFS also
moves its streaming checkpoint there. Both facts belong to the run, so they live here, and this
is the one place that answers "where does Spark read this use case's file".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from datashark.files.paths import is_local

if TYPE_CHECKING:
    from datashark.cluster.staging import StagingArea
    from datashark.config.settings import Settings
    from datashark.config.usecase import UseCase


@dataclass(frozen=True)
class RunContext:
    """The settings of a run, and its staging area on HDFS when it copied its data there."""

    settings: Settings
    staging: StagingArea | None = None

    @property
    def checkpoint_dir(self) -> str:
        """Where this run's streaming checkpoint goes: in the staging area when the run staged
        its data and ``checkpoint.dir`` is local (executors on other machines must reach it),
        else ``checkpoint.dir``."""
        configured = self.settings.checkpoint_dir
        if self.staging is not None and is_local(configured):
            return self.staging.checkpoint
        return configured

    def data_location(self, usecase: UseCase, key: str | None = None) -> str | None:
        """Where Spark reads the use case's ``file`` (batch) or ``training`` (streaming; or
        ``key``) in this run: its staged copy when there is one; None when the key is not set."""
        location = usecase.path_of(key) if key else usecase.data_path()
        if location is None or self.staging is None:
            return location
        return self.staging.location(usecase, location)
