"""Getting a use case ready to run: everything that can fail before Spark starts.

Confs, code, plugins, the event pattern and the filter are all checked here, so a typo costs a
second, not a JVM start.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

from datashark.config.settings import Settings
from datashark.config.usecase import UseCase
from datashark.events.log_filter import LogFilter
from datashark.events.parsing import DEFAULT_MAX_EVENT_BYTES, EventParser
from datashark.files.paths import is_local, local_path
from datashark.loading.load_call import import_code
from datashark.loading.plugin_loader import load_input_plugin, load_output_plugin
from datashark.lookups.live import LookupSet
from datashark.plugin_api import InputPlugin, OutputPlugin


@dataclass
class Prepared:
    """A use case ready to run: code imported, plugins configured, parser and filter compiled,
    lookups read."""

    usecase: UseCase
    module: ModuleType
    plugin: OutputPlugin
    parser: EventParser
    log_filter: LogFilter
    source: InputPlugin | None  # a streaming use case's input; a batch one's when it names one
    max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES
    lookups: LookupSet = field(default_factory=lambda: LookupSet(""))

    @property
    def input(self) -> InputPlugin:
        """The input of a streaming use case, or of a batch one that names one."""
        if self.source is None:
            raise TypeError(f"{self.usecase.name} is a batch use case reading a file: it has no input")
        return self.source


def prepare(settings: Settings, usecase: UseCase) -> Prepared:
    """Everything that can fail before Spark starts: code, plugins, pattern, filter, input,
    lookups (read now, but those on HDFS: when the use case starts)."""
    conf = usecase.conf
    where = usecase.location
    if usecase.reads_frames:
        from datashark.frames.events import check_frame_conf

        check_frame_conf(usecase)
    source = None
    if usecase.type == "streaming":
        source = load_input_plugin(settings, usecase) if conf["input"] else global_input(settings, usecase)
    elif conf["input"]:
        source = load_input_plugin(settings, usecase)
    parser = event_parser(usecase, source)
    log_filter = LogFilter(conf["log_filter"]["include"], conf["log_filter"]["exclude"], where=where)
    plugin = load_output_plugin(settings.home, usecase)
    max_event_bytes = conf["max.event.bytes"] or settings.max_event_bytes
    module = usecase_code(usecase)
    lookups = LookupSet.of(usecase)
    return Prepared(usecase, module, plugin, parser, log_filter, source, max_event_bytes, lookups)


def usecase_code(usecase: UseCase) -> ModuleType:
    """The use case's code file imported; for ``api = sigma``, the rules compiled into a ``load()``."""
    if usecase.api == "sigma":
        from datashark.sigma.usecase import sigma_module

        return sigma_module(usecase)
    return import_code(usecase)


# Formats Spark reads with its own readers, for DataFrame use cases only.
FRAME_ONLY_FORMATS = ("parquet", "csv")


def event_parser(usecase: UseCase, source: InputPlugin | None = None) -> EventParser:
    """The use case's parser: its ``format``, pattern, grok patterns and time keys, all checked;
    reading records as ``source`` says, when its records wrap the format's events.
    A DataFrame use case reading parquet or CSV gets the parser of JSON, whose time keys name
    columns as they name those formats' columns."""
    conf = usecase.conf
    where = usecase.location
    fmt = conf["format"]
    if fmt in FRAME_ONLY_FORMATS:
        if not usecase.reads_frames:
            raise where.at("format").error(f"{fmt} is read by Spark's own reader: it needs api = dataframe")
        fmt = "json"
    patterns_dir = None
    if conf["grok_patterns_dir"]:
        resolved = usecase.resolve(conf["grok_patterns_dir"])
        if not is_local(resolved):
            raise where.at("grok_patterns_dir").error(f"must be a local folder, not {resolved}")
        patterns_dir = Path(local_path(resolved))
    return EventParser(
        fmt,
        conf["pattern"],
        where=where,
        unmatched=conf["unmatched"],
        grok_pattern=conf["grok_pattern"],
        grok_patterns_dir=patterns_dir,
        time_field=conf["time_field"],
        time_format=conf["time_format"],
        assume_year=conf["assume_year"],
        time_zone=conf["time_zone"],
        reader_for=source.event_reader() if source is not None else None,
    )


def global_input(settings: Settings, usecase: UseCase) -> InputPlugin:
    """The global Kafka stream, for streaming use cases that name no ``input``."""
    from datashark.kafka.input import KafkaInput

    return KafkaInput.global_stream(settings, usecase)
