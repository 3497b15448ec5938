"""Reading and validating conf files: values survive as written, errors name file and key."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from datashark.config.settings import load_settings
from datashark.config.spec import read_conf, spec_lines, validate_section
from datashark.config.usecase import read_usecase
from datashark.errors import ConfigError, ConfLocation
from tests.unit.conftest import REPO, usecase_conf, write


def read(tmp_path: Path, text: str):
    return read_conf(write(tmp_path / "x.conf", text))


# --- raw values ---------------------------------------------------------------------


@pytest.mark.parametrize("regex", [r"\d{1,3}", r"^(a|b){1,3}$", r"[a-z]{2,}\.(com|net),x"])
def test_unquoted_regex_with_commas_stays_one_string(tmp_path, regex):
    conf = read(tmp_path, f"pattern = {regex}\n")
    assert conf["pattern"] == regex


def test_quoted_values_are_unquoted(tmp_path):
    conf = read(
        tmp_path,
        """\
        comma = ','
        dquote = '"'
        squote = "'"
        words = "a, b"
        """,
    )
    assert conf["comma"] == ","
    assert conf["dquote"] == '"'
    assert conf["squote"] == "'"
    assert conf["words"] == "a, b"


def test_quoted_values_in_subsections_are_unquoted(tmp_path):
    conf = read(tmp_path, "[out_csv]\nseparator = ';'\n[[deeper]]\nq = \"x,y\"\n")
    assert conf["out_csv"]["separator"] == ";"
    assert conf["out_csv"]["deeper"]["q"] == "x,y"


def test_inline_comment_stripped_when_unquoted_kept_when_quoted(tmp_path):
    conf = read(
        tmp_path,
        """\
        plain = value   # a comment
        quoted = "value # not a comment"
        single = 'a#b'  # a comment
        """,
    )
    assert conf["plain"] == "value"
    assert conf["quoted"] == "value # not a comment"
    assert conf["single"] == "a#b"


def test_missing_file_is_config_error_naming_it(tmp_path):
    path = tmp_path / "nope.conf"
    with pytest.raises(ConfigError, match=re.escape(str(path))) as err:
        read_conf(path)
    assert "not found" in str(err.value)


@pytest.mark.parametrize(
    "text",
    [
        "name = a\nname = b\n",  # duplicate key
        "[section\nkey = v\n",  # bad section line
        "[a]\n[a]\n",  # duplicate section
    ],
    ids=["duplicate-key", "bad-section-line", "duplicate-section"],
)
def test_malformed_file_is_config_error_naming_it(tmp_path, text):
    path = write(tmp_path / "bad.conf", text)
    with pytest.raises(ConfigError, match=re.escape(str(path))) as err:
        read_conf(path)
    assert "cannot be parsed" in str(err.value)


def test_non_utf8_file_is_config_error(tmp_path):
    path = tmp_path / "latin1.conf"
    path.write_bytes("name = caf\xe9\n".encode("latin-1"))
    with pytest.raises(ConfigError, match=re.escape(str(path))):
        read_conf(path)


# --- use-case spec ------------------------------------------------------------------


def validate_usecase(tmp_path: Path, text: str):
    path = write(tmp_path / "uc.conf", text)
    return validate_section(
        read_conf(path), spec_lines("usecase"), where=ConfLocation(str(path)), allow_extra=True
    )


@pytest.mark.parametrize(
    ("written", "expected"),
    [("True", True), ("TRUE", True), ("true", True), ("false", False), ("FALSE", False), ("no", False)],
)
def test_enabled_is_a_case_insensitive_boolean(tmp_path, written, expected):
    conf = validate_usecase(tmp_path, usecase_conf(enabled=written))
    assert conf["enabled"] is expected


def test_enabled_defaults_to_false(tmp_path):
    assert validate_usecase(tmp_path, usecase_conf(enabled=None))["enabled"] is False


def test_enabled_not_a_boolean_names_the_key(tmp_path):
    with pytest.raises(ConfigError, match=r"key 'enabled'"):
        validate_usecase(tmp_path, usecase_conf(enabled="maybe"))


def test_missing_required_key_names_file_and_key(tmp_path):
    path = write(tmp_path / "uc.conf", usecase_conf(output=None))
    with pytest.raises(ConfigError) as err:
        validate_section(
            read_conf(path), spec_lines("usecase"), where=ConfLocation(str(path)), allow_extra=True
        )
    assert str(err.value) == f"{path}: key 'output' is required but missing"


def test_every_problem_is_reported_on_one_line(tmp_path):
    path = write(tmp_path / "uc.conf", usecase_conf(output=None, type="stream", enabled="maybe"))
    with pytest.raises(ConfigError) as err:
        validate_section(
            read_conf(path), spec_lines("usecase"), where=ConfLocation(str(path)), allow_extra=True
        )
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: ")
    for key in ("output", "type", "enabled"):
        assert f"key '{key}'" in message


def test_bad_option_lists_allowed_values(tmp_path):
    with pytest.raises(ConfigError) as err:
        validate_usecase(tmp_path, usecase_conf(type="stream"))
    message = str(err.value)
    assert "key 'type'" in message
    assert "stream" in message
    assert "(allowed: batch, streaming)" in message


def test_bad_option_with_default_lists_allowed_values(tmp_path):
    allowed = r"\(allowed: text, json, regex, grok, syslog, zeek, parquet, csv\)"
    with pytest.raises(ConfigError, match=re.escape("key 'format'") + ".*" + allowed):
        validate_usecase(tmp_path, usecase_conf(format="xml"))


def test_defaults_are_filled(tmp_path):
    conf = validate_usecase(tmp_path, usecase_conf())
    assert conf["format"] == "text"
    assert conf["training"] is None
    assert conf["input"] is None


def test_custom_keys_are_kept_as_written(tmp_path):
    conf = validate_usecase(tmp_path, usecase_conf(extra="ip_regex = \\d{1,3}\\.\\d{1,3}\nlimit = 5\n"))
    assert conf["ip_regex"] == r"\d{1,3}\.\d{1,3}"
    assert conf["limit"] == "5"


def test_unknown_key_rejected_when_extra_not_allowed(tmp_path):
    path = write(tmp_path / "p.conf", "sep = ,\ntypo = 1\n")
    with pytest.raises(ConfigError, match=re.escape(f"{path}: key 'typo' is not a known key")):
        validate_section(read_conf(path), ["sep = string"], where=ConfLocation(str(path)), allow_extra=False)


def test_regex_survives_read_usecase(make_usecase):
    conf_path = make_usecase(conf=usecase_conf(extra="pattern = ^(a|b){1,3}$\n"))
    assert read_usecase(conf_path).conf["pattern"] == "^(a|b){1,3}$"


# --- datashark.conf -----------------------------------------------------------------


def test_settings_defaults_without_datashark_conf(tmp_path):
    settings = load_settings(home=tmp_path)
    assert settings.home == tmp_path
    assert settings.batch_interval == 10
    assert settings.checkpoint_dir == str(tmp_path / "ckpt")
    assert settings.deadletter_dir == tmp_path / "deadletter"
    assert settings.hdfs_host is None
    assert settings.hdfs_port == 9000
    assert settings.spark_config == {}


def test_settings_values_are_typed(tmp_path):
    write(
        tmp_path / "datashark.conf",
        """\
        batch.interval = 3
        checkpoint.dir = hdfs://nn:9000/ckpt
        hdfs.host = nn
        [spark_config]
        spark.scheduler.mode = FAIR
        """,
    )
    settings = load_settings(home=tmp_path)
    assert settings.batch_interval == 3
    assert settings.checkpoint_dir == "hdfs://nn:9000/ckpt"
    assert settings.hdfs_host == "nn"
    assert settings.spark_config == {"spark.scheduler.mode": "FAIR"}


def test_settings_unknown_key_is_named(tmp_path):
    path = write(tmp_path / "datashark.conf", "batch.intervall = 5\n")
    with pytest.raises(ConfigError) as err:
        load_settings(home=tmp_path)
    assert str(path) in str(err.value)
    assert "key 'batch.intervall' is not a known key" in str(err.value)


def test_settings_bad_integer_names_the_key(tmp_path):
    path = write(tmp_path / "datashark.conf", "batch.interval = abc\n")
    with pytest.raises(ConfigError) as err:
        load_settings(home=tmp_path)
    assert str(err.value).startswith(f"{path}: key 'batch.interval'")


def test_settings_out_of_range_port_names_the_key(tmp_path):
    write(tmp_path / "datashark.conf", "hdfs.port = 70000\n")
    with pytest.raises(ConfigError, match=re.escape("key 'hdfs.port'")):
        load_settings(home=tmp_path)


def test_settings_malformed_file_names_it(tmp_path):
    path = write(tmp_path / "datashark.conf", "batch.interval = 1\nbatch.interval = 2\n")
    with pytest.raises(ConfigError, match=re.escape(str(path))):
        load_settings(home=tmp_path)


def test_repository_datashark_conf_is_valid():
    settings = load_settings(home=REPO)
    assert settings.spark_config["spark.scheduler.mode"] == "FAIR"
