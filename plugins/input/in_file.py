"""File input: every file that appears in a folder (local or ``hdfs://``) is read, whatever its age.

At each batch the folder is listed and every file not read yet is read whole, by one task (split
multi-GB logs). A file is known by name, size and modification time: one that grows or is replaced
is read again whole, so move complete files in (``mv``) or write them under a name starting with
``.`` or ending ``.tmp`` and rename them. What was read is kept in
``<checkpoint.dir>/<use case>/in_file-seen.json``, so a restart neither re-reads nor skips files;
``existing`` decides, at the first start only, whether the files already there are read.
Lines that are not UTF-8 become dead letters. See ``datashark/files/folder_stream.py``.
"""

from datashark.files.folder_input import FolderInput as Plugin

__all__ = ["Plugin"]
