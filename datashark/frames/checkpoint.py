"""What a Structured Streaming query's checkpoint says about one of its batches.

Spark writes, before a batch runs, its end offsets to ``<checkpoint>/offsets/<batch>`` (``v1``,
the batch's metadata with ``batchTimestampMs``, then one line per source) and, for a file
source, the files it takes to ``<checkpoint>/sources/0/<batch>`` (every tenth batch compacted
with the earlier ones into ``<batch>.compact``); a Kafka source keeps where it began in
``sources/0/0``. dataShark reads them to give a replayed batch its first time, to commit Kafka
progress, and to read a batch's records again when some did not parse. The checkpoint may be
on HDFS: everything is read through Hadoop's file system.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any


def offset_log(sc, checkpoint: str, batch_id: int) -> tuple[datetime, str | None]:
    """The batch's time and its source's end offsets (JSON). A batch run again after a crash
    has the time it had, so its rows are the same rows; without a readable log, now."""
    try:
        lines = read_text(sc, f"{checkpoint}/offsets/{batch_id}").splitlines()
        metadata: dict[str, Any] = json.loads(lines[1])
        batch_time = datetime.fromtimestamp(metadata["batchTimestampMs"] / 1000)
        source = lines[2] if len(lines) > 2 and lines[2].startswith("{") else None
        return batch_time, source
    except Exception:  # an unreadable log costs only the replay's identical ids
        return datetime.now(), None


def kafka_range(sc, checkpoint: str, batch_id: int) -> tuple[dict, dict]:
    """Where a Kafka source's batch began and ended: ``{topic: {partition: offset}}`` each (the
    previous batch's end, or where the query began for its first batch)."""
    _, end = offset_log(sc, checkpoint, batch_id)
    if end is None:
        raise ValueError(f"no offsets of batch {batch_id} in {checkpoint}")
    if batch_id > 0:
        _, start = offset_log(sc, checkpoint, batch_id - 1)
    else:
        start = _json_line(read_text(sc, f"{checkpoint}/sources/0/0"))
    if start is None:
        raise ValueError(f"no offsets before batch {batch_id} in {checkpoint}")
    return json.loads(start), json.loads(end)


def batch_files(sc, checkpoint: str, batch_id: int) -> list[str]:
    """The files a file source's batch read (none for a batch run only to move the watermark
    on, which has no entry)."""
    base = f"{checkpoint}/sources/0/{batch_id}"
    text = ""
    for location in (base, f"{base}.compact"):  # every tenth batch's log is compacted
        if exists(sc, location):
            text = read_text(sc, location)
            break
    entries = [json.loads(line) for line in text.splitlines()[1:] if line.startswith("{")]
    return [entry["path"] for entry in entries if entry.get("batchId") == batch_id]


def _json_line(text: str) -> str | None:
    return next((line for line in text.splitlines() if line.startswith("{")), None)


def exists(sc, location: str) -> bool:
    """Whether a checkpoint file is there (local or HDFS)."""
    path = sc._jvm.org.apache.hadoop.fs.Path(location)
    return bool(path.getFileSystem(sc._jsc.hadoopConfiguration()).exists(path))


def read_text(sc, location: str) -> str:
    """A checkpoint file's text (local or HDFS)."""
    hadoop = sc._jvm.org.apache.hadoop.fs
    path = hadoop.Path(location)
    stream = path.getFileSystem(sc._jsc.hadoopConfiguration()).open(path)
    try:
        return sc._jvm.org.apache.commons.io.IOUtils.toString(stream, "UTF-8")
    finally:
        stream.close()
