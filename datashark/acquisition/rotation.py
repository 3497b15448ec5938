"""Files of a standalone acquisition (``output = files``), moved whole into the folder.

rsyslog appends records to ``.current.jsonl`` in the folder; the folder stream skips names
starting with ``.``. Every ``rotate.seconds`` the file is renamed ``.closing-<n>.jsonl``,
rsyslogd is told to close its files (SIGHUP, as logrotate does), and once its process holds
the file open no more (``/proc/<pid>/fd``) the file is renamed ``syslog-<time>-<n>.jsonl``:
the folder stream reads it whole, once. Files left by a stopped run are moved the same way at
the next start and after rsyslogd stops.
"""

from __future__ import annotations

import itertools
import os
import signal
import time
from pathlib import Path

from datashark.acquisition.rsyslog_config import CURRENT_FILE
from datashark.files.private import FILE_MODE, private_folder

CLOSING_PREFIX = ".closing-"
PUBLISHED_PREFIX = "syslog-"
SUFFIX = ".jsonl"


class Rotation:
    """Rotates one folder's current file; used by ``datashark acquire`` only, on one machine."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.current = folder / CURRENT_FILE
        self._numbers = itertools.count()

    def prepare(self) -> None:
        """Before rsyslogd starts: the folder private, files an earlier run left moved in."""
        private_folder(self.folder)
        if self.current.exists():
            self._publish(self.current)
        self.publish_closed(pid=None)

    def rotate(self, pid: int) -> None:
        """Close the current file (if it holds anything) and move in every closed one."""
        if self.current.exists() and self.current.stat().st_size > 0:
            os.rename(self.current, self.folder / f"{CLOSING_PREFIX}{time.time_ns()}{SUFFIX}")
            os.kill(pid, signal.SIGHUP)
        self.publish_closed(pid)

    def publish_closed(self, pid: int | None, wait_seconds: float = 2.0) -> None:
        """Move in each ``.closing-*`` file ``pid`` no longer holds open (any, when None), giving
        rsyslogd up to ``wait_seconds`` to close them; files still open wait for the next call."""
        deadline = time.monotonic() + wait_seconds
        for path in sorted(self.folder.glob(f"{CLOSING_PREFIX}*{SUFFIX}")):
            while pid is not None and holds_open(pid, path):
                if time.monotonic() > deadline:
                    return
                time.sleep(0.02)
            self._publish(path)

    def _publish(self, path: Path) -> None:
        if path.stat().st_size == 0:
            path.unlink()
            return
        os.chmod(path, FILE_MODE)
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        name = f"{PUBLISHED_PREFIX}{stamp}-{time.time_ns() % 10**9:09d}-{next(self._numbers)}{SUFFIX}"
        os.rename(path, self.folder / name)


def holds_open(pid: int, path: Path) -> bool:
    """True when process ``pid`` has ``path`` open (Linux: its ``/proc/<pid>/fd`` links)."""
    target = str(path)
    try:
        descriptors = os.listdir(f"/proc/{pid}/fd")
    except (FileNotFoundError, ProcessLookupError):
        return False
    for descriptor in descriptors:
        try:
            if os.readlink(f"/proc/{pid}/fd/{descriptor}") == target:
                return True
        except OSError:  # closed meanwhile
            continue
    return False
