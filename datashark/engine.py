"""Getting use cases ready to run, and the SparkContext they run on.

Everything that can be checked without Spark (confs, code, plugins) is checked before the
context starts (see ``prepare``), so a typo costs a second, not a JVM start.
"""

from __future__ import annotations

import os
import re
import signal
import sys
import tempfile
import traceback
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from types import ModuleType
from xml.sax.saxutils import quoteattr

from datashark import console, failures
from datashark.errors import DataSharkError, UseCaseError
from datashark.events import DEFAULT_MAX_EVENT_BYTES, EventParser
from datashark.filters import LogFilter
from datashark.jvm_output import launch_quiet_gateway
from datashark.plugins import InputPlugin, LegacyPlugin, OutputPlugin, load_input_plugin, load_output_plugin
from datashark.secrets import scrub
from datashark.settings import Settings
from datashark.tracebacks import where_in_code
from datashark.usecase import UseCase, import_code

POOL_PROPERTY = "spark.scheduler.pool"
POOL_FILE_PROPERTY = "spark.scheduler.allocation.file"
OWN_ERROR_PREFIX = re.compile(r"^datashark(?:\.\w+)*\.\w+Error: ")
# Spark's loggers of task failures print a JVM stack (and the worker's Python traceback) per
# failed task; log4j2.properties turns them off unless this system property says otherwise.
FAILURE_LOG_PROPERTY = "datashark.spark.failures"
# Quiet console; and the web UI, which has no authentication, may show but not kill jobs.
DEFAULT_SPARK_CONFIG = {"spark.ui.showConsoleProgress": "false", "spark.ui.killEnabled": "false"}
# Hadoop's line reader (files, batch and folder streams) skips lines longer than this, so a huge
# file without newlines costs a bounded buffer instead of the JVM. Lines between max.event.bytes
# and this limit still reach Python, which dead-letters them with their size.
LINE_LENGTH_PROPERTY = "spark.hadoop.mapreduce.input.linerecordreader.line.maxlength"
FILE_LINE_LIMIT_FACTOR = 64


@dataclass
class Prepared:
    """A use case ready to run: code imported, plugins configured, parser and filter compiled."""

    usecase: UseCase
    module: ModuleType
    plugin: OutputPlugin | LegacyPlugin
    parser: EventParser
    log_filter: LogFilter
    source: InputPlugin | None  # a streaming use case's input; None for a batch one
    max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES

    @property
    def input(self) -> InputPlugin:
        """The input of a streaming use case."""
        if self.source is None:
            raise TypeError(f"{self.usecase.name} is a batch use case: it has no input")
        return self.source


def prepare(settings: Settings, usecase: UseCase) -> Prepared:
    """Everything that can fail before Spark starts: code, plugins, pattern, filter, input."""
    conf = usecase.conf
    where = str(usecase.path)
    parser = EventParser(conf["format"], conf["pattern"], where=where, unmatched=conf["unmatched"])
    log_filter = LogFilter(conf["log_filter"]["include"], conf["log_filter"]["exclude"], where=where)
    source = None
    if usecase.type == "streaming":
        source = load_input_plugin(settings, usecase) if conf["input"] else global_input(settings, usecase)
    plugin = load_output_plugin(settings.home, usecase)
    max_event_bytes = conf["max.event.bytes"] or settings.max_event_bytes
    return Prepared(usecase, import_code(usecase), plugin, parser, log_filter, source, max_event_bytes)


def global_input(settings: Settings, usecase: UseCase) -> InputPlugin:
    """The global Kafka stream, for streaming use cases that name no ``input``."""
    from datashark.kafka.input import KafkaInput

    return KafkaInput.global_stream(settings, usecase)


@contextmanager
def scheduler_pool(sc, usecase: UseCase) -> Iterator[None]:
    """Spark jobs this thread starts meanwhile run in the use case's own FAIR pool, so one
    use case's heavy batch cannot starve the others' jobs (``start_spark`` declares the pools)."""
    sc.setLocalProperty(POOL_PROPERTY, usecase.name)
    try:
        yield
    finally:
        sc.setLocalProperty(POOL_PROPERTY, None)


class UseCaseFailedError(UseCaseError):
    """A use case's one-line ``(Title) - Failed: ...`` error, with the lines of the use case's own
    code the failure went through (``ssh.py:14 in parse: ...``), innermost last."""

    def __init__(self, message: str, frames: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.frames = frames


def usecase_failure(usecase: UseCase, err: BaseException) -> UseCaseFailedError:
    """The one-line ``(Title) - Failed: ...`` error for anything a use case raised, knowing where
    in the use case's code it happened."""
    reason = str(err) if isinstance(err, DataSharkError) else summarize(err)
    return UseCaseFailedError(f"({usecase.name}) - Failed: {reason}", where_in_code(err, usecase.code_path))


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


def summarize(err: BaseException) -> str:
    """One line for an error that may carry a JVM stack and a Python worker traceback.

    A failing ``load()`` on an executor surfaces as a Py4J/Spark error whose message embeds the
    worker's traceback; its last line (``ZeroDivisionError: ...``) is what the user needs.
    """
    text = str(err)
    marker = "Traceback (most recent call last):"
    if marker in text:
        tail = text.split(marker)[-1]
        lines = [
            line.strip() for line in tail.splitlines() if line.strip() and not line.startswith((" ", "\t"))
        ]
        exception_lines = [line for line in lines if not line.startswith(("at ", "File "))]
        if exception_lines:
            # dataShark's own errors already read as one line (they name what failed).
            return OWN_ERROR_PREFIX.sub("", exception_lines[0])
    first = text.strip().splitlines()[0] if text.strip() else ""
    return f"{type(err).__name__}: {first}" if first else type(err).__name__


def report_failure(err: DataSharkError, *, verbose: bool) -> None:
    """A failure on stderr, its ``[X]`` line last where the eye lands: before it, with ``verbose``
    the whole traceback (JVM stack included), and the lines of the use case's own code it went
    through (``    at ssh.py:14 in parse: ...``)."""
    if verbose:
        print_traceback(err)
    for line in failure_frames(err):
        console.to_stderr(f"    at {line}")
    console.error(str(err))


def failure_frames(err: BaseException) -> tuple[str, ...]:
    """The use-case code lines of the ``UseCaseFailedError`` behind ``err``: in its causes, or the
    streaming failure recorded on Spark's thread that ``err`` reports."""
    cause: BaseException | None = err
    for _ in range(10):
        if cause is None:
            break
        if isinstance(cause, UseCaseFailedError):
            return cause.frames
        cause = cause.__cause__
    recorded = failures.first()
    if isinstance(recorded, UseCaseFailedError) and str(recorded) in str(err):
        return recorded.frames
    return ()


def print_traceback(err: BaseException) -> None:
    """The full story behind a failure, for ``--verbose``, without the confs' secrets."""
    sys.stderr.write(scrub("".join(traceback.format_exception(err))))
    sys.stderr.flush()
