"""A use case's ``[lookups]`` section: one ``[[name]]`` sub-section per lookup, each read from a
file (``path``) or an Elasticsearch index (``index``), checked as plugin sections are: every
error names the file, ``[lookups][name]`` and the key.

::

    [lookups]
      [[assets]]
      path = data/assets.csv        # relative to the use case's folder; hdfs://... too
      key = ip                      # value: {ip: row}; without key, the list of rows
      refresh = 5m                  # streaming: read again every 5 minutes
      [[scanners]]
      index = scanners              # Elasticsearch, with [out_elasticsearch]'s connection keys
      query = status:active
      values = address              # value: the set of the column's values
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from configobj import Section

from datashark.config.durations import duration_ms
from datashark.config.spec import validate_section
from datashark.elastic.conf import CONNECTION_SPEC, connection_from
from datashark.elastic.search import Search, query_of
from datashark.errors import ConfLocation, DataSharkError
from datashark.lookups.elasticsearch import ElasticsearchSource
from datashark.lookups.files import EXTENSIONS, FORMATS, FileFormatError, FileSource, format_of
from datashark.lookups.shape import ShapeError, shaped

if TYPE_CHECKING:
    from datashark.config.usecase import UseCase

SECTION = "lookups"
# Keys of every lookup: how its value is shaped, and how often a stream reads it again.
SHAPE_SPEC = (
    "key = string(min=1, default=None)",
    "values = string(min=1, default=None)",
    "refresh = string(min=1, default=None)",
)
FILE_SPEC = (
    "path = string(min=1)",
    f"format = option({', '.join(repr(name) for name in FORMATS)}, default=None)",
    'separator = string(min=1, max=2, default=",")',  # one character, or \t (as [out_csv]'s)
    *SHAPE_SPEC,
)
ELASTICSEARCH_SPEC = (
    *CONNECTION_SPEC,
    "index = string(min=1)",
    "query = string(default=None)",
    "fields = string(min=1, default=None)",
    *SHAPE_SPEC,
)


@dataclass(frozen=True)
class Lookup:
    """One lookup of a use case: where it is read from and what ``load()`` gets of it. Holds the
    source's credentials, if any: it stays on the driver (``live`` ships only broadcasts)."""

    name: str
    where: ConfLocation  # [lookups][name]
    source: FileSource | ElasticsearchSource
    key: str | None = None
    values: str | None = None
    refresh: float | None = None  # seconds between two reads while a stream runs; None: read once

    @property
    def needs_spark(self) -> bool:
        return self.source.needs_spark

    def load(self, sc=None) -> Any:
        """The value ``load()`` gets, read now; a one-line ConfigError naming the key at fault
        (``path``/``index`` when the source cannot be read, ``key``/``values`` when what it holds
        cannot take their shape)."""
        try:
            read = self.source.read(sc)
        except (FileFormatError, DataSharkError) as err:
            raise self.where.at(self.source.KEY).error(f"{self.source.describe()}: {err}") from None
        except FileNotFoundError:
            raise self.where.at(self.source.KEY).error(f"no such file: {self.source.describe()}") from None
        except Exception as err:  # the disk, Hadoop (a Py4J error), the network: anything
            raise self.where.at(self.source.KEY).error(
                f"cannot be read: {self.source.describe()}: {one_line(err)}"
            ) from None
        try:
            return shaped(read, self.key, self.values)
        except ShapeError as err:
            raise self.where.at(err.key).error(f"{err} in {self.source.describe()}") from None


def lookups_of(usecase: UseCase) -> tuple[Lookup, ...]:
    """The lookups the conf's ``[lookups]`` names (none without one), each checked."""
    conf = usecase.conf
    if SECTION not in conf:
        return ()
    section = conf[SECTION]
    if not isinstance(section, Section):
        raise usecase.location.at(SECTION).error(
            "must be a section: [lookups] with one [[name]] sub-section per lookup"
        )
    where = usecase.location.section(SECTION)
    for name in section.scalars:
        raise where.at(name).error(f"is not a lookup: write it as a [[{name}]] sub-section with its keys")
    return tuple(lookup_of(usecase, name, section[name], where.section(name)) for name in section.sections)


def lookup_of(usecase: UseCase, name: str, section: Section, where: ConfLocation) -> Lookup:
    """One ``[[name]]``: its kind told by the key naming its source (``path`` or ``index``)."""
    kinds = [key for key in KINDS if key in section]
    if len(kinds) != 1:
        problem = "set either " if kinds else "has no source: set "
        raise where.error(f"{problem}{' or '.join(f'{key} ({KINDS[key][0]})' for key in KINDS)}")
    _, spec, build = KINDS[kinds[0]]
    conf = validate_section(section, list(spec), where=where, allow_extra=False)
    if conf["key"] is not None and conf["values"] is not None:
        raise where.at("values").error(
            "set either key (rows by a column) or values (a column's set), not both"
        )
    return Lookup(
        name,
        where,
        build(conf, where, usecase),
        conf["key"],
        conf["values"],
        refresh_seconds(conf["refresh"], where.at("refresh")),
    )


def refresh_seconds(text: str | None, where: ConfLocation) -> float | None:
    """``refresh`` in seconds: ``30s``, ``5m``, ``1h``, ``1d``, a bare number being minutes."""
    return None if text is None else duration_ms(text, where, bare="m", at_least_ms=1000) / 1000


def file_source(conf: dict[str, Any], where: ConfLocation, usecase: UseCase) -> FileSource:
    location = usecase.resolve(conf["path"])
    fmt = conf["format"] or format_of(location)
    if fmt is None:
        known = ", ".join(f"{extension} ({name})" for extension, name in EXTENSIONS.items())
        raise where.at("format").error(
            f"is needed: {location} does not end with a known extension ({known}); "
            f"set format = {' | '.join(FORMATS)}"
        )
    if fmt == "text" and (conf["key"] or conf["values"]):
        key = "key" if conf["key"] else "values"
        raise where.at(key).error("does not apply to format text, whose value is the set of its lines")
    separator = "\t" if conf["separator"] == "\\t" else conf["separator"]
    if len(separator) != 1:
        raise where.at("separator").error("must be one character, or \\t")
    return FileSource(location, fmt, separator)


def elasticsearch_source(conf: dict[str, Any], where: ConfLocation, usecase: UseCase) -> ElasticsearchSource:
    fields = tuple(dict.fromkeys(name.strip() for name in (conf["fields"] or "").split(",") if name.strip()))
    search = Search(
        connection_from(conf, where, usecase),
        conf["index"],
        query_of(conf["query"], "@timestamp", None, None, where),
        fields or None,
        slices=1,
    )
    return ElasticsearchSource(search)


Builder = Callable[[dict[str, Any], ConfLocation, "UseCase"], FileSource | ElasticsearchSource]
# The key that names a lookup's source -> (what it reads, its keys, how its source is built).
KINDS: dict[str, tuple[str, tuple[str, ...], Builder]] = {
    "path": ("a file", FILE_SPEC, file_source),
    "index": ("an Elasticsearch index", ELASTICSEARCH_SPEC, elasticsearch_source),
}


def one_line(err: BaseException) -> str:
    """An exception as one line: its type and the first line of its message."""
    text = str(err).strip()
    first = text.splitlines()[0] if text else ""
    return f"{type(err).__name__}: {first}" if first else type(err).__name__
