"""Finding a plugin by name: ``output = csv`` is ``plugins/output/out_csv.py`` configured from
``[out_csv]``; ``input = file`` is ``plugins/input/in_file.py`` configured from ``[in_file]``.

A plugin module defines ``Plugin``: a subclass of ``OutputPlugin``/``InputPlugin`` (its section is
validated against ``CONFIGSPEC``), or, for outputs, a class written for the original dataShark
(``Plugin(conf)`` + ``save(dataRDD, progType)``), which ``LegacyOutput`` runs as an OutputPlugin.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from datashark.config.spec import validate_section
from datashark.config.spec.hints import did_you_mean
from datashark.loading.codeimport import import_file, unique_module_name
from datashark.loading.legacy_output import LegacyOutput
from datashark.plugin_api import InputPlugin, OutputPlugin

if TYPE_CHECKING:
    from datashark.config.settings import Settings
    from datashark.config.usecase import UseCase

PREFIX_BY_KIND = {"input": "in", "output": "out"}

# The plugins that ship with dataShark, found whatever DATASHARK_HOME says.
BUILT_IN_PLUGINS = Path(__file__).resolve().parents[2] / "plugins"


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


def load_output_plugin(home: Path, usecase: UseCase) -> OutputPlugin:
    """The configured output plugin of ``usecase``; ConfigError if it cannot be."""
    plugin_class, section = _plugin_class(home, "output", usecase.output, usecase)
    if not issubclass(plugin_class, OutputPlugin):
        return LegacyOutput(plugin_class, section, usecase)
    spec = [*OutputPlugin.COMMON_SPEC, *plugin_class.CONFIGSPEC]
    return plugin_class(_validated(section, spec, "output", usecase), usecase)


def load_input_plugin(settings: Settings, usecase: UseCase) -> InputPlugin:
    """The ``input`` of a use case; ConfigError if it cannot be, or cannot feed its type."""
    name = usecase.conf["input"]
    plugin_class, section = _plugin_class(settings.home, "input", name, usecase)
    where = usecase.location.at("input")
    if not issubclass(plugin_class, InputPlugin):
        raise where.error(f"{plugin_class.__module__} is not an InputPlugin")
    if usecase.type == "streaming" and not plugin_class.READS_STREAMS:
        raise where.error(f"input {name} is read by batch use cases only (type = batch)")
    if usecase.type == "batch" and not plugin_class.READS_BATCHES:
        raise where.error(
            f"input {name} feeds streaming use cases only: a batch use case reads a file, "
            "or an input that reads batches (input = elasticsearch)"
        )
    conf = _validated(section, list(plugin_class.CONFIGSPEC), "input", usecase)
    return plugin_class(conf, usecase, settings)


def _plugin_class(home: Path, kind: str, name: str, usecase: UseCase) -> tuple[type, dict[str, Any]]:
    path = plugin_path(home, kind, name)
    where = usecase.location.at(kind)
    if not path.is_file():
        known = sorted(
            {
                found.stem.split("_", 1)[1]
                for folder in plugin_folders(home, kind)
                for found in folder.glob(f"{PREFIX_BY_KIND[kind]}_*.py")
            }
        )
        raise where.error(
            f"unknown {kind} plugin '{name}'{did_you_mean(name, known)} "
            f"(available: {', '.join(known)}; a home's own go in {home / 'plugins' / kind})"
        )
    try:
        module = import_file(path, unique_module_name("datashark_plugin", path))
    except Exception as err:  # a plugin file may raise anything while importing
        raise where.error(f"plugin {path} failed to import: {type(err).__name__}: {err}") from err
    plugin_class = getattr(module, "Plugin", None)
    if not isinstance(plugin_class, type):
        raise where.error(f"plugin {path} defines no class Plugin")
    return plugin_class, usecase.conf.get(f"{PREFIX_BY_KIND[kind]}_{name}", {})


def _validated(section: dict[str, Any], spec: list[str], kind: str, usecase: UseCase) -> dict[str, Any]:
    name = f"{PREFIX_BY_KIND[kind]}_{usecase.conf[kind]}"
    return validate_section(section, spec, where=usecase.location.section(name), allow_extra=False)
