"""A piece of work ``datashark acquire`` does beside rsyslogd, in a thread, at most every few
seconds, never twice at once: it must not hold up the loop that passes signals on."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class Every:
    """Runs ``work`` in a daemon thread when poked, unless it runs already or ran less than
    ``seconds`` ago."""

    def __init__(self, name: str, seconds: float, work: Callable[[], object]) -> None:
        self.name = name
        self.seconds = seconds
        self.work = work
        self._thread: threading.Thread | None = None
        self._next = 0.0

    def poke(self) -> None:
        if (self._thread is not None and self._thread.is_alive()) or time.monotonic() < self._next:
            return
        self._next = time.monotonic() + self.seconds
        self._thread = threading.Thread(target=self.work, name=self.name, daemon=True)
        self._thread.start()

    def wait(self, seconds: float) -> None:
        """Wait up to ``seconds`` for the run in flight, if any, to end."""
        if self._thread is not None:
            self._thread.join(timeout=seconds)
