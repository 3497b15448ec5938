"""Records the peak RSS of the Python driver of a benchmark run, without touching dataShark.

bench/run.py puts this folder on PYTHONPATH and names a file in BENCH_DRIVER_RSS_FILE; Python
imports ``sitecustomize`` at start-up, so the very process that standalone.sh execs (or the
hand-written script) writes its own ``ru_maxrss`` there when it exits. The JVM is a separate
process (a child of the driver), so this is the Python driver alone, the figure that must not
grow with the size of the result. The variable is removed at once so that the JVM and the
Python workers it starts, which inherit the environment, do not write over it.
"""

from __future__ import annotations

import atexit
import os
import resource

_TARGET = os.environ.pop("BENCH_DRIVER_RSS_FILE", None)


def _record(path: str) -> None:
    """Write ``self=<KiB> children=<KiB>`` (Linux reports ru_maxrss in KiB)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    with open(path, "w", encoding="ascii") as out:
        out.write(f"self={own} children={children}\n")


if _TARGET:
    atexit.register(_record, _TARGET)
