"""``./start.sh``: every enabled use case, batch then streaming, on the master in datashark-env.sh.

The console flow is the original's: banner, Running Spark on Cluster, Preparing FileSystem,
Starting Spark, Loaded Confs, App Name, a Written line per batch, Cleaning Up. What it stages
(HDFS copies of the data, the framework archive for ``--py-files``) is removed on every way
out a process can see: success, failure, Ctrl-C and SIGTERM.
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from datashark import console
from datashark.cluster.auth import SECRET_FILE_VARIABLE, cluster_security, is_standalone, secret_for_driver
from datashark.cluster.pyfiles import framework_archive
from datashark.cluster.staging import Stager
from datashark.config.settings import Settings, load_settings
from datashark.config.usecase import discover
from datashark.errors import ConfigError, DataSharkError, UseCaseError
from datashark.run.batch import run_batch
from datashark.run.context import RunContext
from datashark.run.failures import report_failure
from datashark.run.prepare import Prepared, prepare
from datashark.run.spark import scheduler_pool, start_spark
from datashark.run.streaming import STOP_SIGNALS, run_streaming

LOCAL_MASTER = "local[*]"
EXIT_OK, EXIT_FAILED, EXIT_INTERRUPTED = 0, 1, 130
UNREGISTERED_APP_PREFIX = "spark-application-"  # Spark's placeholder id when no master gave one
# Spark's own variables, read by spark-submit and the SparkContext; datashark-env.sh sets them.
MEMORY_VARIABLES = {
    "SPARK_DRIVER_MEMORY": "spark.driver.memory",
    "SPARK_EXECUTOR_MEMORY": "spark.executor.memory",
}


def run_production(master: str, *, timeout: float | None, verbose: bool) -> int:
    """The whole ./start.sh run; a bad or missing conf stops it before anything is staged."""
    console.say(console.banner("PRODUCTION MODE"))
    where = "Local Machine" if master.startswith("local") else "Cluster"
    console.info(f"Running Spark on {where}")
    security = cluster_security(master, os.environ)
    if security.warning:
        console.to_stderr(security.warning)
    settings = load_settings()
    ready = enabled_usecases(settings)
    app_name = f"dataShark_{str(uuid.uuid4()).upper()}"
    try:
        with _interrupts():
            console.info("Preparing FileSystem")
            with _staged(settings, ready, app_name) as (run, folder):
                console.info("Starting Spark")
                console.say(f"Loaded Confs: {[str(p.usecase.path) for p in ready]}")
                console.say(f"App Name: {app_name}")
                run_config = {**submit_config(ready, folder), **security.config}
                pools = [p.usecase.name for p in ready]
                with secret_for_driver(security, folder):
                    sc = start_spark(settings, master, app_name, run_config, pools=pools, verbose=verbose)
                try:
                    _check_registered(sc, master)
                    failed = _run_all(sc, run, ready, timeout=timeout, verbose=verbose)
                finally:
                    sc.stop()
    except KeyboardInterrupt as interrupt:
        # PySpark's own SIGINT handler (it cancels the running jobs first) raises it unnamed.
        console.error(f"stopped ({str(interrupt) or 'SIGINT'} received) before every use case had run")
        return EXIT_INTERRUPTED
    return EXIT_FAILED if failed else EXIT_OK


def enabled_usecases(settings: Settings) -> list[Prepared]:
    """The enabled use cases, each checked as ``datashark validate`` checks it.

    Any broken one refuses the whole start: a production run that silently leaves out a
    detection is worse than one that does not start.
    """
    found = discover(settings.home, enabled_only=True)
    problems = list(found.problems)
    ready = []
    for usecase in found.usecases:
        try:
            ready.append(prepare(settings, usecase))
        except DataSharkError as err:
            problems.append(str(err))
    for problem in problems:
        console.error(f"Could not load: {problem}")
    if problems:
        raise ConfigError(
            f"not starting: {len(problems)} conf(s) above need fixing (or enabled = false); "
            "'datashark validate' checks them without Spark"
        )
    if not ready:
        raise ConfigError(
            f"not starting: no use case is enabled (set enabled = true in {settings.home}/conf/*/*.conf)"
        )
    return ready


def submit_config(ready: list[Prepared], folder: Path) -> dict[str, str]:
    """What spark-submit needs for this run, under datashark.conf's ``[spark_config]``.

    ``spark.streaming.concurrentJobs`` lets every streaming use case's output job of a batch run
    at once; FAIR mode shares executors between the per-use-case pools
    (``run.spark.scheduler_pool``). The archive it ships is written in ``folder``.
    """
    streaming = sum(1 for p in ready if p.usecase.type == "streaming")
    config = {
        "spark.submit.pyFiles": str(framework_archive(folder)),
        "spark.scheduler.mode": "FAIR",
        "spark.streaming.concurrentJobs": str(max(streaming, 1)),
    }
    for variable, key in MEMORY_VARIABLES.items():
        if value := os.environ.get(variable):
            config[key] = value
    return config


def _check_registered(sc, master: str) -> None:
    """A standalone master that never accepted the application (unreachable, or it refused the
    driver's secret) leaves a context Spark is stopping after 3 tries 20 s apart: one line now,
    rather than a Java trace from the first job. Spark names such an application itself."""
    if is_standalone(master) and sc.applicationId.startswith(UNREGISTERED_APP_PREFIX):
        raise DataSharkError(
            f"the Spark master at {master} did not accept this application: is it up, and does "
            f"{SECRET_FILE_VARIABLE} (datashark-env.sh) name the secret its daemons were started with?"
        )


@contextmanager
def _staged(settings: Settings, ready: list[Prepared], app_name: str) -> Iterator[tuple[RunContext, Path]]:
    """The run (data and checkpoint on HDFS when ``hdfs.host`` is set) and a local
    folder for the files spark-submit takes; both removed afterwards, whatever happened."""
    stager = Stager(settings, app_name) if settings.hdfs_host else None
    folder = Path(tempfile.mkdtemp(prefix="datashark-submit-"))
    try:
        area = stager.stage([p.usecase for p in ready]) if stager is not None else None
        yield RunContext(settings, area), folder
    finally:
        console.info("Cleaning Up")
        shutil.rmtree(folder, ignore_errors=True)
        if stager is not None:
            stager.remove()


@contextmanager
def _interrupts() -> Iterator[None]:
    """SIGINT and SIGTERM stop the run through ``KeyboardInterrupt``, so the clean-up runs;
    repeats are ignored while it does. Streaming replaces this with its graceful stop.

    SIGINT is set explicitly: a process started in the background by a shell inherits it ignored.
    """
    received: list[str] = []

    def interrupt(signum: int, _frame) -> None:
        if not received:
            received.append(signal.Signals(signum).name)
            raise KeyboardInterrupt(received[0])

    previous = {sig: signal.signal(sig, interrupt) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _run_all(sc, run: RunContext, ready: list[Prepared], *, timeout: float | None, verbose: bool) -> bool:
    """Batch use cases one by one (a failure is reported and the next one runs), then the
    streaming ones together. True if any failed."""
    batch = [p for p in ready if p.usecase.type == "batch"]
    streaming = [p for p in ready if p.usecase.type == "streaming"]
    failed = False
    if not batch:
        console.say(" * Skipping Batch Processing")
    for prepared in batch:
        try:
            with scheduler_pool(sc, prepared.usecase):
                run_batch(sc, run, prepared, debug=False)
        except UseCaseError as err:
            failed = True
            _report(err, verbose)
    if not streaming:
        console.say(" * Skip Stream Processing")
        return failed
    try:
        run_streaming(sc, run, streaming, debug=False, timeout=timeout)
    except UseCaseError as err:
        failed = True
        _report(err, verbose)
    return failed


def _report(err: UseCaseError, verbose: bool) -> None:
    report_failure(err, verbose=verbose)
