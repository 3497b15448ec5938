"""Output plugins: the base class plugins extend, and the loader that finds them by name.

``output = csv`` means ``plugins/output/out_csv.py`` configured from ``[out_csv]``. A plugin
module defines ``Plugin``: either a subclass of ``OutputPlugin`` (validated conf, the driver
prints the Written line), or a class written for the original dataShark
(``Plugin(conf)`` + ``save(dataRDD, progType)``), which is called as it was.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from datashark import console
from datashark.codeimport import import_file, unique_module_name
from datashark.configspec import validate_section
from datashark.errors import ConfigError

if TYPE_CHECKING:
    from pyspark import RDD

    from datashark.usecase import UseCase


class OutputPlugin:
    """Base of dataShark's output plugins.

    Subclasses set ``CONFIGSPEC`` (configspec lines for their ``[out_<name>]`` section, which
    always has ``title`` and ``debug``), ``write()`` one RDD and say where it went in
    ``destination``; the driver prints the Written line, so every plugin reports alike.
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

    def write(self, rdd: RDD, batch_time: str) -> int:
        """Deliver every row of ``rdd``; returns how many were written."""
        raise NotImplementedError

    def save(self, rdd: RDD, prog_type: str) -> None:
        """Write a batch result and print its Written line."""
        count = self.write(rdd, console.timestamp())
        console.written(self.title, count, self.destination)


class LegacyPlugin:
    """Runs a plugin written for the original dataShark: string-valued conf, its own prints."""

    def __init__(self, plugin_class: type, conf: dict[str, Any]) -> None:
        self.plugin = plugin_class(conf)

    def save(self, rdd: RDD, prog_type: str) -> None:
        self.plugin.save(rdd, prog_type)


def plugin_path(home: Path, kind: str, name: str) -> Path:
    """``plugins/<kind>/<prefix>_<name>.py``, where the prefix is ``in`` or ``out``."""
    prefix = {"input": "in", "output": "out"}[kind]
    return home / "plugins" / kind / f"{prefix}_{name}.py"


def load_output_plugin(home: Path, usecase: UseCase) -> OutputPlugin | LegacyPlugin:
    """The configured output plugin of ``usecase``, ready to ``save()``; ConfigError if not."""
    name = usecase.output
    path = plugin_path(home, "output", name)
    where = f"{usecase.path}: key 'output'"
    if not path.is_file():
        known = sorted(p.stem.removeprefix("out_") for p in path.parent.glob("out_*.py"))
        raise ConfigError(
            f"{where}: unknown output plugin '{name}' (no {path}; available: {', '.join(known)})"
        )
    try:
        module = import_file(path, unique_module_name("datashark_plugin", path))
    except Exception as err:  # a plugin file may raise anything while importing
        raise ConfigError(f"{where}: plugin {path} failed to import: {type(err).__name__}: {err}") from err
    plugin_class = getattr(module, "Plugin", None)
    if not isinstance(plugin_class, type):
        raise ConfigError(f"{where}: plugin {path} defines no class Plugin")
    section_name = f"out_{name}"
    section = usecase.conf.get(section_name, {})
    if not issubclass(plugin_class, OutputPlugin):
        return LegacyPlugin(plugin_class, section)
    spec = [*OutputPlugin.COMMON_SPEC, *plugin_class.CONFIGSPEC]
    conf = validate_section(section, spec, where=f"{usecase.path}: [{section_name}]", allow_extra=False)
    return plugin_class(conf, usecase)
