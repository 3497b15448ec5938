"""The Spark side of a run: building the SparkContext and running use cases on it.

Everything that can be checked without Spark (confs, code, plugins) is checked before the
context starts (see ``prepare``), so a typo costs a second, not a JVM start.
"""

from __future__ import annotations

import os
import sys
import traceback
from dataclasses import dataclass
from importlib import resources
from types import ModuleType

from datashark import console
from datashark.errors import DataSharkError, UseCaseError
from datashark.plugins import LegacyPlugin, OutputPlugin, load_output_plugin
from datashark.settings import Settings
from datashark.usecase import UseCase, call_load, import_code, load_arguments

# Quiet console; and the web UI, which has no authentication, may show but not kill jobs.
DEFAULT_SPARK_CONFIG = {"spark.ui.showConsoleProgress": "false", "spark.ui.killEnabled": "false"}


@dataclass
class Prepared:
    """A use case whose code is imported and whose output plugin is configured."""

    usecase: UseCase
    module: ModuleType
    plugin: OutputPlugin | LegacyPlugin


def prepare(settings: Settings, usecase: UseCase) -> Prepared:
    """Import the code (checking ``load()`` can be called) and build the output plugin."""
    return Prepared(usecase, import_code(usecase), load_output_plugin(settings.home, usecase))


def spark_conf(settings: Settings, master: str, app_name: str):
    """SparkConf from datashark.conf's ``[spark_config]`` over dataShark's quiet defaults."""
    from pyspark import SparkConf

    log_config = resources.files("datashark").joinpath("log4j2.properties")
    values = {
        **DEFAULT_SPARK_CONFIG,
        "spark.driver.extraJavaOptions": f"-Dlog4j2.configurationFile=file:{log_config}",
        **settings.spark_config,
    }
    jars = [str(jar) for jar in settings.jars]
    if jars:
        values["spark.jars"] = ",".join(filter(None, [values.get("spark.jars"), *jars]))
    conf = SparkConf().setMaster(master).setAppName(app_name)
    for key, value in values.items():
        conf.set(key, value)
    return conf


def start_spark(settings: Settings, master: str, app_name: str):
    """A SparkContext whose Python workers use this interpreter (and so its packages)."""
    from pyspark import SparkContext

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    if master.startswith("local"):
        # Nothing outside this machine needs the driver's ports (UI included) in local mode.
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    try:
        return SparkContext(conf=spark_conf(settings, master, app_name))
    except Exception as err:  # py4j and the launcher raise assorted types
        raise DataSharkError(f"could not start Spark on {master}: {summarize(err)}") from err


def run_batch(sc, prepared: Prepared, *, debug: bool) -> None:
    """Read ``file``, call ``load()``, hand the result to the output (or print it with ``-d``)."""
    from pyspark import RDD

    usecase = prepared.usecase
    data = sc.textFile(usecase.data_path())
    try:
        result = call_load(prepared.module.load, *load_arguments(usecase, sc, data))
        if not isinstance(result, RDD):
            raise UseCaseError(f"load() returned {type(result).__name__}, expected an RDD")
        if debug:
            console.say(repr(result.collect()))
        else:
            prepared.plugin.save(result, usecase.type)
    except DataSharkError as err:
        raise UseCaseError(f"({usecase.name}) - Failed: {err}") from err
    except Exception as err:  # anything from the user's code or Spark fails this use case only
        raise UseCaseError(f"({usecase.name}) - Failed: {summarize(err)}") from err


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
            return exception_lines[0]
    first = text.strip().splitlines()[0] if text.strip() else ""
    return f"{type(err).__name__}: {first}" if first else type(err).__name__


def print_traceback(err: BaseException) -> None:
    """The full story behind a failure, for ``--verbose``."""
    traceback.print_exception(err, file=sys.stderr)
