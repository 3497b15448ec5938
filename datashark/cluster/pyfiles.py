"""The framework as a ``--py-files`` archive, so executors run the driver's dataShark.

Use-case code and plugins travel inside the pickled functions (see ``codeimport``), but the
framework's own modules (the event stage, the row checks, the Kafka readers, the output
writers) are imported by name on the executors. On a cluster those run on other machines,
whose Python may have another dataShark or none: the archive ships the exact one that runs here.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import datashark

ARCHIVE_NAME = "datashark.zip"


def framework_archive(folder: Path) -> Path:
    """``folder/datashark.zip``: the ``datashark`` package, sources and package data, no caches."""
    package = Path(datashark.__file__).resolve().parent
    archive = folder / ARCHIVE_NAME
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as out:
        for path in sorted(package.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                out.write(path, Path("datashark") / path.relative_to(package))
    return archive
