"""Plugins: the base classes they extend, and the loader that finds them by name.

``output = csv`` means ``plugins/output/out_csv.py`` configured from ``[out_csv]``;
``input = file`` means ``plugins/input/in_file.py`` configured from ``[in_file]``. A plugin
module defines ``Plugin``: a subclass of ``OutputPlugin``/``InputPlugin`` (its section is
validated against ``CONFIGSPEC``), or, for outputs, a class written for the original
dataShark (``Plugin(conf)`` + ``save(dataRDD, progType)``), which is called as it was; a
streaming one gets each batch as a one-batch DStream (see ``one_batch_stream``).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from datashark.codeimport import import_file, unique_module_name
from datashark.configspec import validate_section
from datashark.configspec.hints import did_you_mean
from datashark.errors import ConfigError

if TYPE_CHECKING:
    from pyspark import RDD
    from pyspark.streaming import DStream, StreamingContext

    from datashark.deadletter import DeadLetters
    from datashark.one_batch_stream import OneBatchStream
    from datashark.settings import Settings
    from datashark.usecase import UseCase

PREFIX_BY_KIND = {"input": "in", "output": "out"}


@dataclass(frozen=True)
class Batch:
    """The batch an output plugin writes: its time and its use case's dead-letter store.

    Picklable, so partition writers on the executors get it too (and may dead-letter rows
    their sink rejects: ``batch.dead_letters.add("output", reason, row)``).
    """

    time: datetime  # local wall-clock time: Spark's batch time, or the start of a batch run
    dead_letters: DeadLetters

    @property
    def timestamp(self) -> str:
        """Local time as every console line and CSV row shows it."""
        return self.time.strftime("%Y-%m-%d %H:%M:%S")

    @property
    def utc_iso(self) -> str:
        """ISO-8601 UTC, as ``@timestamp`` of documents (Elasticsearch, syslog, Parquet)."""
        return self.time.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


class OutputPlugin:
    """Base of dataShark's output plugins.

    Subclasses set ``CONFIGSPEC`` (configspec lines for their ``[out_<name>]`` section, which
    always has ``title`` and ``debug``) and say where rows go in ``destination``. A plugin for a
    network sink implements ``partition_writer``: the returned function runs on the executors,
    one call per partition, with one connection each, and returns how many rows it wrote;
    ``write`` sums the counts. A plugin that must write on the driver (one local file)
    overrides ``write`` instead. The engine prints the Written line, so every plugin reports alike.
    ``start`` runs once before the first batch, for a sink that needs setting up.
    """

    CONFIGSPEC: tuple[str, ...] = ()
    COMMON_SPEC: tuple[str, ...] = ("title = string(default=None)", "debug = boolean(default=False)")

    def __init__(self, conf: dict[str, Any], usecase: UseCase) -> None:
        self.conf = conf
        self.usecase = usecase
        self.title: str = conf["title"] or usecase.name
        self.debug: bool = conf["debug"]

    @property
    def destination(self) -> str:
        """Where the rows go, for the Written line, e.g. ``CSV File /tmp/x.csv``."""
        raise NotImplementedError

    def start(self) -> None:
        """On the driver, once, before the use case's first batch is read (not in debug runs):
        where a plugin prepares its sink, so that a wrong address or login stops the start
        instead of the first batch, after events were read."""

    def partition_writer(self, batch: Batch) -> Callable[[Iterator[tuple]], int]:
        """A picklable function writing one partition's rows; returns how many it wrote."""
        raise NotImplementedError

    def write(self, rdd: RDD, batch: Batch) -> int:
        """Deliver every row of ``rdd`` from the executors; returns how many were written."""
        return rdd.mapPartitions(_counted(self.partition_writer(batch))).sum()


# What must not reach a terminal raw: C0 controls but tab (ANSI escapes start with \x1b, a newline
# would forge a line), DEL, C1 controls (\x9b is an 8-bit CSI), Unicode line separators, bidi
# overrides and isolates (text that reads other than it is), lone surrogates (no encoding takes them).
UNPRINTABLE = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
ESCAPES = {"\n": "\\n", "\r": "\\r"}


def printable(text: str) -> str:
    """``text`` with what a terminal would act on escaped: ``\\n``, ``\\x1b``, ``\\u202e``."""
    return UNPRINTABLE.sub(lambda found: ESCAPES.get(found[0]) or _escape(found[0]), text)


def _escape(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def debug_print(text: str) -> None:
    """Prints what a ``debug`` output sends, from wherever it runs, as one line: control characters
    inside it are escaped (``printable``), so a row cannot move the cursor, recolour the terminal or
    forge a line. One ``write`` per call: Python workers share Spark's stderr pipe, and ``print``
    writes the text and its newline apart, so two workers' lines would interleave."""
    sys.stdout.write(printable(text.removesuffix("\n")) + "\n")
    sys.stdout.flush()


def _counted(write_partition: Callable[[Iterator[tuple]], int]) -> Callable[[Iterable[Any]], list[int]]:
    def count_of_partition(rows: Iterable[Any]) -> list[int]:
        return [write_partition(iter(rows))]

    return count_of_partition


class InputPlugin:
    """Base of input plugins: builds the DStream a streaming use case reads.

    Two use cases whose input is configured identically share one stream (see ``key``).
    Inputs that can replay (Kafka) learn through the ``batch_*`` hooks which batches each
    use case delivered, to acknowledge only those; the defaults do nothing.
    """

    CONFIGSPEC: tuple[str, ...] = ()
    # False when the stream may also carry ``bytes`` (a message that is not text), which the
    # use case's event stage turns into a dead letter.
    TEXT_ONLY = True

    def __init__(self, conf: dict[str, Any], usecase: UseCase, settings: Settings) -> None:
        self.conf = conf
        self.usecase = usecase

    @property
    def description(self) -> str:
        """What is read, for the ``+ Input Module:`` line, e.g. ``File /var/log/in``."""
        raise NotImplementedError

    @property
    def key(self) -> tuple:
        """Equal for inputs that read the same events."""
        return (type(self).__module__, self.description)

    def stream(self, ssc: StreamingContext) -> DStream:
        """A DStream of event lines (text)."""
        raise NotImplementedError

    def batch_time(self, batch_time: datetime) -> datetime:
        """The time outputs write for the batch of ``batch_time``: an input replaying a batch
        a killed run had cut gives its first time, so the replayed rows are the same rows."""
        return batch_time

    def track(self, consumer: str) -> None:
        """Use case ``consumer`` will deliver this stream's batches (not called in debug runs)."""

    def batch_generated(self, consumer: str, batch_time: datetime) -> None:
        """Spark generated ``consumer``'s output job of ``batch_time``: it will deliver that
        batch. Called on the driver before any job of a later batch runs."""

    def batch_delivered(self, consumer: str, batch_time: datetime) -> None:
        """``consumer`` delivered the batch of ``batch_time`` (and so every earlier one)."""

    def batch_failed(self, consumer: str, batch_time: datetime) -> None:
        """``consumer`` failed to deliver the batch of ``batch_time``; the stream will stop."""

    def stop_reading(self) -> None:
        """The stream is stopping: later batches should read nothing new, so the stop waits for
        the batches already cut, not for more (their events are read at the next start)."""

    def close(self) -> None:
        """The stream has stopped: release connections."""


class LegacyPlugin:
    """Runs a plugin written for the original dataShark: string-valued conf, its own prints."""

    def __init__(self, plugin_class: type, conf: dict[str, Any]) -> None:
        self.plugin = plugin_class(conf)

    def save(self, data: RDD | OneBatchStream, prog_type: str) -> None:
        self.plugin.save(data, prog_type)


# The plugins that ship with dataShark, found whatever DATASHARK_HOME says.
BUILT_IN_PLUGINS = Path(__file__).resolve().parent.parent / "plugins"


def plugin_folders(home: Path, kind: str) -> list[Path]:
    """Where ``kind`` plugins are looked for: the home's own ``plugins/<kind>/`` first (a home
    may add plugins, or replace a built-in one by its name), then the installation's."""
    folders = [home / "plugins" / kind, BUILT_IN_PLUGINS / kind]
    return list(dict.fromkeys(folder.resolve() for folder in folders))


def plugin_path(home: Path, kind: str, name: str) -> Path:
    """``plugins/<kind>/<prefix>_<name>.py`` (the prefix is ``in`` or ``out``) in the first of
    ``plugin_folders`` that has it; in the home when none has."""
    file_name = f"{PREFIX_BY_KIND[kind]}_{name}.py"
    for folder in plugin_folders(home, kind):
        if (folder / file_name).is_file():
            return folder / file_name
    return home / "plugins" / kind / file_name


def load_output_plugin(home: Path, usecase: UseCase) -> OutputPlugin | LegacyPlugin:
    """The configured output plugin of ``usecase``; ConfigError if it cannot be."""
    plugin_class, section = _plugin_class(home, "output", usecase.output, usecase)
    if not issubclass(plugin_class, OutputPlugin):
        return LegacyPlugin(plugin_class, section)
    spec = [*OutputPlugin.COMMON_SPEC, *plugin_class.CONFIGSPEC]
    return plugin_class(_validated(section, spec, "output", usecase), usecase)


def load_input_plugin(settings: Settings, usecase: UseCase) -> InputPlugin:
    """The ``input`` override of a streaming use case; ConfigError if it cannot be."""
    plugin_class, section = _plugin_class(settings.home, "input", usecase.conf["input"], usecase)
    if not issubclass(plugin_class, InputPlugin):
        raise ConfigError(f"{usecase.path}: key 'input': {plugin_class.__module__} is not an InputPlugin")
    conf = _validated(section, list(plugin_class.CONFIGSPEC), "input", usecase)
    return plugin_class(conf, usecase, settings)


def _plugin_class(home: Path, kind: str, name: str, usecase: UseCase) -> tuple[type, dict[str, Any]]:
    path = plugin_path(home, kind, name)
    where = f"{usecase.path}: key '{kind}'"
    if not path.is_file():
        known = sorted(
            {
                found.stem.split("_", 1)[1]
                for folder in plugin_folders(home, kind)
                for found in folder.glob(f"{PREFIX_BY_KIND[kind]}_*.py")
            }
        )
        raise ConfigError(
            f"{where}: unknown {kind} plugin '{name}'{did_you_mean(name, known)} "
            f"(available: {', '.join(known)}; a home's own go in {home / 'plugins' / kind})"
        )
    try:
        module = import_file(path, unique_module_name("datashark_plugin", path))
    except Exception as err:  # a plugin file may raise anything while importing
        raise ConfigError(f"{where}: plugin {path} failed to import: {type(err).__name__}: {err}") from err
    plugin_class = getattr(module, "Plugin", None)
    if not isinstance(plugin_class, type):
        raise ConfigError(f"{where}: plugin {path} defines no class Plugin")
    return plugin_class, usecase.conf.get(f"{PREFIX_BY_KIND[kind]}_{name}", {})


def _validated(section: dict[str, Any], spec: list[str], kind: str, usecase: UseCase) -> dict[str, Any]:
    name = f"{PREFIX_BY_KIND[kind]}_{usecase.conf[kind]}"
    return validate_section(section, spec, where=f"{usecase.path}: [{name}]", allow_extra=False)
