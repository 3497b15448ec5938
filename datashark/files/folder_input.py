"""The folder input: every file that appears in a folder (local or ``hdfs://``) is read once.

``input = file`` is this input (plugins/input/in_file.py says what its keys mean); the
``syslog`` input reads the acquisition's rotated files with it in a standalone run.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from datashark.events.whole_files import FileRecords
from datashark.files import folder_stream
from datashark.files.paths import has_scheme
from datashark.plugin_api import InputPlugin


class FolderInput(InputPlugin):
    CONFIGSPEC = ("folder_path = string(min=1)", 'existing = option("skip", "read", default="skip")')
    TEXT_ONLY = False

    def __init__(self, conf, usecase, settings) -> None:
        super().__init__(conf, usecase, settings)
        self.folder = usecase.resolve(conf["folder_path"])
        self.existing: str = conf["existing"]
        self.state_location = folder_stream.state_location(settings.checkpoint_dir, usecase.name)
        self.source_id: str | None = None

    @property
    def description(self) -> str:
        return f"File {self.folder}"

    @property
    def key(self) -> tuple:
        """Each use case has a stream of its own: what it has read is its own state."""
        return (*super().key, self.usecase.name)

    def stream(self, ssc):
        """The drop folder is created when the stream starts (not by ``datashark validate``)."""
        if not has_scheme(self.folder):
            Path(self.folder).mkdir(parents=True, exist_ok=True)
        source = folder_stream.register(
            ssc.sparkContext, self.folder, self.state_location, self.existing, self.usecase.name
        )
        self.source_id = source.id
        return folder_stream.dstream(ssc, source, FileRecords(self.usecase.conf["format"]))

    def frames(self, spark, fields=None):
        """Spark's file source over the folder; what it read is in the query's checkpoint."""
        from datashark.frames.events import stream_frame

        if not has_scheme(self.folder):
            Path(self.folder).mkdir(parents=True, exist_ok=True)
        return stream_frame(spark, self.usecase, self.folder)

    def frames_batch(self, spark, checkpoint, batch_id):
        from datashark.frames.events import batch_files_frame

        return batch_files_frame(spark, self.usecase, checkpoint, batch_id)

    def _source(self) -> folder_stream.FolderSource | None:
        return folder_stream.source(self.source_id) if self.source_id else None

    def track(self, consumer: str) -> None:
        if source := self._source():
            source.track(consumer)

    def batch_delivered(self, consumer: str, batch_time: datetime) -> None:
        if source := self._source():
            source.delivered(consumer, batch_time)

    def batch_failed(self, consumer: str, batch_time: datetime) -> None:
        if source := self._source():
            source.failed(batch_time)

    def close(self) -> None:
        if self.source_id:
            folder_stream.unregister(self.source_id)
            self.source_id = None
