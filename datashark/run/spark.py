"""The SparkContext use cases run on: dataShark's defaults, FAIR pools, a quiet console."""

from __future__ import annotations

import logging
import os
import signal
import sys
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from importlib import resources
from xml.sax.saxutils import quoteattr

from datashark.config.settings import Settings
from datashark.config.usecase import UseCase
from datashark.errors import DataSharkError
from datashark.run.failures import summarize
from datashark.run.jvm_output import launch_quiet_gateway

POOL_PROPERTY = "spark.scheduler.pool"
POOL_FILE_PROPERTY = "spark.scheduler.allocation.file"
# Spark's loggers of task failures print a JVM stack (and the worker's Python traceback) per
# failed task; log4j2.properties turns them off unless this system property says otherwise.
FAILURE_LOG_PROPERTY = "datashark.spark.failures"
# Quiet console; and the web UI, which has no authentication, may show but not kill jobs.
# DataFrame use cases: Spark's 200 shuffle partitions make each streaming batch of an aggregation
# run 200 tasks and keep 200 state stores (fixed in the query's checkpoint at its first start);
# a cluster with many cores raises it in [spark_config].
DEFAULT_SPARK_CONFIG = {
    "spark.ui.showConsoleProgress": "false",
    "spark.ui.killEnabled": "false",
    "spark.sql.shuffle.partitions": "8",
}
# Hadoop's line reader (files, batch and folder streams) skips lines longer than this, so a huge
# file without newlines costs a bounded buffer instead of the JVM. Lines between max.event.bytes
# and this limit still reach Python, which dead-letters them with their size.
LINE_LENGTH_PROPERTY = "spark.hadoop.mapreduce.input.linerecordreader.line.maxlength"
FILE_LINE_LIMIT_FACTOR = 64


@contextmanager
def scheduler_pool(sc, usecase: UseCase) -> Iterator[None]:
    """Spark jobs this thread starts meanwhile run in the use case's own FAIR pool, so one
    use case's heavy batch cannot starve the others' jobs (``start_spark`` declares the pools)."""
    sc.setLocalProperty(POOL_PROPERTY, usecase.name)
    try:
        yield
    finally:
        sc.setLocalProperty(POOL_PROPERTY, None)


def spark_conf(
    settings: Settings,
    master: str,
    app_name: str,
    run_config: dict[str, str] | None = None,
    *,
    verbose: bool = False,
):
    """SparkConf from dataShark's defaults, then ``run_config`` (what this run needs), then
    datashark.conf's ``[spark_config]``, whose explicit values win. ``verbose`` lets Spark log
    failed tasks with their stacks, which dataShark otherwise reports in a few lines of its own."""
    from pyspark import SparkConf

    log_config = resources.files("datashark").joinpath("log4j2.properties")
    java_options = f"-Dlog4j2.configurationFile=file:{log_config}"
    if verbose:
        java_options += f" -D{FAILURE_LOG_PROPERTY}=warn"
    values = {
        **DEFAULT_SPARK_CONFIG,
        **local_defaults(master),
        LINE_LENGTH_PROPERTY: str(min(settings.max_event_bytes * FILE_LINE_LIMIT_FACTOR, 2**31 - 1)),
        "spark.driver.extraJavaOptions": java_options,
        **(run_config or {}),
        **settings.spark_config,
    }
    jars = [str(jar) for jar in settings.jars]
    if jars:
        values["spark.jars"] = ",".join(filter(None, [values.get("spark.jars"), *jars]))
    conf = SparkConf().setMaster(master).setAppName(app_name)
    for key, value in values.items():
        conf.set(key, value)
    return conf


def local_defaults(master: str) -> dict[str, str]:
    """On local Spark, as many shuffle partitions as cores: each is a task per batch and, for a
    stream's aggregation, a state store committed at every batch."""
    if not master.startswith("local"):
        return {}
    return {"spark.sql.shuffle.partitions": str(max(2, os.cpu_count() or 2))}


def start_spark(
    settings: Settings,
    master: str,
    app_name: str,
    run_config: dict[str, str] | None = None,
    *,
    pools: Iterable[str] = (),
    verbose: bool = False,
):
    """A SparkContext whose Python workers use this interpreter (and so its packages), with a
    FAIR pool declared for each of ``pools`` (use-case names, see ``scheduler_pool``); Spark logs
    failed tasks only when ``verbose``.

    PySpark starts the driver's JVM with the pyspark wheel's ``bin/spark-submit``, passing the
    SparkConf as ``--conf`` options. The JVM ignores SIGINT (PySpark's doing) and SIGTERM (ours):
    either would run its shutdown hooks and stop the SparkContext under a graceful stop in
    progress. The JVM exits when this process does, even on SIGKILL (its stdin closes).
    """
    import pyspark
    from pyspark import SparkContext

    os.environ["SPARK_HOME"] = os.path.dirname(pyspark.__file__)
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    if master.startswith("local"):
        # Nothing outside this machine needs the driver's ports (UI included) in local mode.
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    if not verbose:
        quiet_query_errors()
    previous = signal.signal(signal.SIGTERM, signal.SIG_IGN)
    # Spark reads the allocation file while the context starts, and never again.
    with tempfile.NamedTemporaryFile("w", prefix="datashark-pools-", suffix=".xml") as allocations:
        allocations.write(pool_allocations(pools))
        allocations.flush()
        config = {POOL_FILE_PROPERTY: allocations.name, **(run_config or {})}
        try:
            conf = spark_conf(settings, master, app_name, config, verbose=verbose)
            return SparkContext(conf=conf, gateway=launch_quiet_gateway(conf))
        except Exception as err:  # py4j and the launcher raise assorted types
            raise DataSharkError(f"could not start Spark on {master}: {summarize(err)}") from err
        finally:
            signal.signal(signal.SIGTERM, previous)


def quiet_query_errors() -> None:
    """PySpark logs each DataFrame error with its JVM stack as a JSON line on stderr, before the
    error reaches dataShark, which reports it in one line of its own (``--verbose``: both)."""
    from pyspark.logger import PySparkLogger

    for name in ("DataFrameQueryContextLogger", "SQLQueryContextLogger"):
        PySparkLogger.getLogger(name).setLevel(logging.CRITICAL + 1)


def pool_allocations(pools: Iterable[str]) -> str:
    """A FAIR allocation file declaring each pool with equal weight. Spark would make the same
    pools on first use, with a warning each; declared, they also show in the UI from the start.
    A ``spark.scheduler.allocation.file`` of the user's in ``[spark_config]`` replaces it."""
    declared = "".join(
        f"  <pool name={quoteattr(name)}><schedulingMode>FIFO</schedulingMode>"
        "<weight>1</weight><minShare>0</minShare></pool>\n"
        for name in sorted(set(pools))
    )
    return f'<?xml version="1.0"?>\n<allocations>\n{declared}</allocations>\n'
