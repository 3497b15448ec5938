"""load_output_plugin: finding a plugin by name, validating its section, wrapping legacy ones."""

from __future__ import annotations

import re
import shutil
from datetime import datetime

import pytest

from datashark.config.usecase import read_usecase
from datashark.errors import ConfigError
from datashark.loading.legacy_output import LegacyOutput
from datashark.loading.plugin_loader import load_output_plugin, plugin_path
from datashark.plugin_api import OutputBatch, OutputPlugin
from tests.unit.conftest import CSV_PLUGIN, REPO, usecase_conf, write

LEGACY_PLUGIN = """
class Plugin:
    def __init__(self, conf):
        self.conf = conf

    def save(self, dataRDD, progType):
        self.saved = (dataRDD, progType)
"""


@pytest.fixture
def plugins_dir(home):
    """``<home>/plugins/output`` with the repository's out_csv.py and a legacy out_old.py."""
    folder = home / "plugins" / "output"
    folder.mkdir(parents=True)
    shutil.copy(CSV_PLUGIN, folder / "out_csv.py")
    write(folder / "out_old.py", LEGACY_PLUGIN)
    return folder


@pytest.fixture
def plugin_for(home, make_usecase, plugins_dir):
    """``plugin_for(output, extra)``: the plugin of a use case with ``output`` and ``extra`` text."""

    def load(output: str = "csv", extra: str = ""):
        usecase = read_usecase(make_usecase(conf=usecase_conf(output=output, extra=extra)))
        return usecase, load_output_plugin(home, usecase)

    return load


def test_plugins_ship_with_the_installation_and_a_home_may_add_or_replace_them(home, plugins_dir):
    """DATASHARK_HOME holds confs and data; the built-in plugins are found without a copy there."""
    assert plugin_path(home, "output", "old") == plugins_dir / "out_old.py"
    assert plugin_path(home, "output", "csv") == plugins_dir / "out_csv.py", "the home's copy wins"
    assert plugin_path(home, "output", "syslog") == REPO / "plugins" / "output" / "out_syslog.py"
    assert plugin_path(home, "input", "kafka") == REPO / "plugins" / "input" / "in_kafka.py"


def test_a_home_without_plugins_finds_the_built_in_ones(tmp_path, make_usecase):
    usecase = read_usecase(make_usecase(conf=usecase_conf(output="csv", extra="[out_csv]\npath = x.csv\n")))
    assert load_output_plugin(tmp_path / "empty-home", usecase).destination.startswith("CSV File ")


def test_unknown_output_names_conf_key_name_and_available(plugin_for):
    with pytest.raises(ConfigError) as err:
        plugin_for(output="elastic")
    message = str(err.value)
    assert re.match(r"^/.*/uc\.conf: key 'output': unknown output plugin 'elastic'", message)
    assert "available: csv, elasticsearch, old, parquet, syslog;" in message


def test_unknown_key_in_plugin_section_is_named(plugin_for):
    with pytest.raises(ConfigError) as err:
        plugin_for(extra="[out_csv]\nseperator = ;\n")
    assert re.search(
        r"uc\.conf: \[out_csv\], key 'seperator' is not a known key \(did you mean 'separator'\?\)$",
        str(err.value),
    )


def test_bad_value_in_plugin_section_is_named(plugin_for):
    with pytest.raises(ConfigError, match=re.escape("[out_csv], key 'mode'") + r".*append, overwrite"):
        plugin_for(extra="[out_csv]\nmode = replace\n")


def test_legacy_plugin_gets_the_raw_section(plugin_for):
    _, plugin = plugin_for(output="old", extra="[out_old]\nhost = localhost\nport = 9200\ndebug = true\n")
    assert isinstance(plugin, LegacyOutput)
    assert isinstance(plugin, OutputPlugin)  # delivery knows one interface
    assert plugin.plugin.conf == {"host": "localhost", "port": "9200", "debug": "true"}
    assert plugin.write("rdd", OutputBatch(datetime(2026, 1, 1), None)) is None  # it reports itself
    assert plugin.plugin.saved == ("rdd", "batch")


def test_legacy_plugin_without_section_gets_an_empty_one(plugin_for):
    _, plugin = plugin_for(output="old")
    assert dict(plugin.plugin.conf) == {}


def test_plugin_without_plugin_class(plugin_for, plugins_dir):
    write(plugins_dir / "out_nothing.py", "def save(rdd, prog_type):\n    pass\n")
    with pytest.raises(ConfigError, match=r"key 'output': plugin .*out_nothing\.py defines no class Plugin"):
        plugin_for(output="nothing")


def test_plugin_named_plugin_that_is_not_a_class(plugin_for, plugins_dir):
    write(plugins_dir / "out_func.py", "def Plugin(conf):\n    return conf\n")
    with pytest.raises(ConfigError, match="defines no class Plugin"):
        plugin_for(output="func")


def test_plugin_failing_at_import(plugin_for, plugins_dir):
    write(plugins_dir / "out_broken.py", "raise RuntimeError('no backend')\n")
    with pytest.raises(ConfigError, match=r"failed to import: RuntimeError: no backend"):
        plugin_for(output="broken")


def test_csv_defaults(plugin_for):
    usecase, plugin = plugin_for()
    assert isinstance(plugin, OutputPlugin)
    assert plugin.title == "uc"
    assert plugin.debug is False
    assert plugin.path == usecase.folder / "UseCase.csv"
    assert plugin.destination == f"CSV File {usecase.folder / 'UseCase.csv'}"
    assert plugin.fields is None
    assert plugin.dialect == {"delimiter": ",", "quotechar": '"', "quoting": 0, "lineterminator": "\n"}


def test_csv_title_defaults_to_usecase_name(plugin_for):
    _, plugin = plugin_for(extra="[out_csv]\npath = /tmp/x.csv\n")
    assert plugin.title == "uc"


def test_csv_options(plugin_for):
    extra = """\
    [out_csv]
    title = My Title
    debug = TRUE
    path = out/result.csv
    separator = ';'
    quote_char = "'"
    fields = a, b ,,c
    """
    usecase, plugin = plugin_for(extra=extra)
    assert plugin.title == "My Title"
    assert plugin.debug is True
    assert plugin.path == usecase.folder / "out" / "result.csv"
    assert plugin.fields == ["a", "b", "c"]
    assert plugin.dialect["delimiter"] == ";"
    assert plugin.dialect["quotechar"] == "'"


@pytest.mark.parametrize("written", ["','", '","', ","])
def test_csv_comma_separator_quoted_or_not(plugin_for, written):
    _, plugin = plugin_for(extra=f"[out_csv]\nseparator = {written}\n")
    assert plugin.dialect["delimiter"] == ","


def test_csv_backslash_t_means_tab(plugin_for):
    _, plugin = plugin_for(extra="[out_csv]\nseparator = \\t\n")
    assert plugin.dialect["delimiter"] == "\t"


def test_csv_two_char_separator_is_an_error(plugin_for):
    with pytest.raises(ConfigError, match=re.escape("[out_csv], key 'separator'")):
        plugin_for(extra="[out_csv]\nseparator = ;;\n")


def test_csv_long_separator_is_an_error(plugin_for):
    with pytest.raises(ConfigError, match="key 'separator'"):
        plugin_for(extra="[out_csv]\nseparator = ;;;\n")


@pytest.mark.parametrize(
    "extra",
    ["[out_csv]\nseparator = '\"'\n", "[out_csv]\nseparator = ;\nquote_char = ;\n"],
    ids=["separator-is-default-quote", "separator-is-quote"],
)
def test_csv_separator_equal_to_quote_char_is_an_error(plugin_for, extra):
    """Python's csv writer accepts it and writes rows that cannot be read back."""
    with pytest.raises(ConfigError, match=re.escape("[out_csv]")):
        plugin_for(extra=extra)
