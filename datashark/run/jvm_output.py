"""The JVM's own stderr, passed on without the start-up lines that only alarm new users.

Spark's launcher always adds ``--add-modules=jdk.incubator.vector`` on Java 17+, and the JVM
answers with ``WARNING: Using incubator modules: jdk.incubator.vector``; MLlib's native BLAS
loader prints ``netlib-blas: dlopen(libblas.so.3) failed`` on a machine without a system BLAS
(it then uses its Java one, which is correct, just slower; ``install.sh`` installs Debian's
``libblas3``/``liblapack3`` as root). Neither asks anything of the user. Everything else the
JVM writes (Spark's log lines included) goes through unchanged.
"""

from __future__ import annotations

import re
import subprocess
import sys
import threading
from typing import IO

NOISE = re.compile(
    rb"^(WARNING: Using incubator modules: jdk\.incubator\.vector"
    rb"|[\w-]+: dlopen\(lib(blas|lapack)\.so\.3\) failed.*)\r?\n?$"
)


def launch_quiet_gateway(conf):
    """Start Spark's JVM for ``conf`` as PySpark would, its stderr filtered through ``NOISE``."""
    from pyspark.java_gateway import launch_gateway

    gateway = launch_gateway(conf, popen_kwargs={"stderr": subprocess.PIPE})
    threading.Thread(target=forward, args=(gateway.proc.stderr,), name="jvm-stderr", daemon=True).start()
    return gateway


def forward(stream: IO[bytes]) -> None:
    """Copy ``stream`` to this process's stderr line by line, without the noise lines."""
    for line in iter(stream.readline, b""):
        if NOISE.match(line):
            continue
        err = sys.stderr
        if hasattr(err, "buffer"):
            err.buffer.write(line)
        else:  # a text-only stream (a test's capture)
            err.write(line.decode("utf-8", "replace"))
        err.flush()
