"""File input: every new file that appears in a folder (local or ``hdfs://``) is read.

Spark picks up files whose modification time falls in the current batch, so move or rename
complete files into the folder (``mv``), rather than writing them in place.
"""

from __future__ import annotations

from pathlib import Path

from datashark.plugins import InputPlugin


class Plugin(InputPlugin):
    CONFIGSPEC = ("folder_path = string(min=1)",)

    def __init__(self, conf, usecase, settings) -> None:
        super().__init__(conf, usecase, settings)
        self.folder = usecase.resolve(conf["folder_path"])

    @property
    def description(self) -> str:
        return f"File {self.folder}"

    def stream(self, ssc):
        """The drop folder is created when the stream starts (not by ``datashark validate``)."""
        if "://" not in self.folder:
            Path(self.folder).mkdir(parents=True, exist_ok=True)
        return ssc.textFileStream(self.folder)
