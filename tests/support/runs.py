"""Running one use case in a test as ``./standalone.sh`` would, on the session's SparkContext."""

from __future__ import annotations

from pathlib import Path

from datashark.config.settings import Settings
from datashark.config.usecase import read_usecase
from datashark.run.batch import run_batch
from datashark.run.context import RunContext
from datashark.run.prepare import prepare
from datashark.run.streaming import run_streaming


def run_conf(
    sc, settings: Settings, conf: Path, *, debug: bool = False, timeout: float | None = None
) -> None:
    """The use case of ``conf``: a batch one runs to its end, a streaming one until ``timeout``."""
    prepared = prepare(settings, read_usecase(conf))
    if prepared.usecase.type == "batch":
        run_batch(sc, RunContext(settings), prepared, debug=debug)
    else:
        run_streaming(sc, RunContext(settings), [prepared], debug=debug, timeout=timeout)
