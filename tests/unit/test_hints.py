"""Typos in confs: the error or warning names what was most likely meant."""

from __future__ import annotations

import pytest

from datashark.config.spec.hints import did_you_mean, unused_sections
from datashark.config.usecase import read_usecase
from datashark.errors import ConfigError
from tests.unit.conftest import REPO, usecase_conf


def test_a_missing_key_names_the_misspelt_one(make_usecase):
    conf = usecase_conf(output=None, extra="ouput = csv\n")
    with pytest.raises(ConfigError, match=r"key 'output' is required but missing \(did you mean 'ouput'\?\)"):
        read_usecase(make_usecase(conf=conf))


def test_no_hint_when_nothing_is_close():
    assert did_you_mean("output", ["threshold", "window"]) == ""
    assert did_you_mean("Output", ["output"]) == " (did you mean 'output'?)"


@pytest.mark.parametrize(
    ("sections", "used", "warning"),
    [
        (
            ["csv"],
            ["out_csv", "log_filter"],
            "section [csv] is not read by anything (did you mean [out_csv]?)",
        ),
        (["log_filtre"], ["out_csv", "log_filter"], "(did you mean [log_filter]?)"),
        (["in_kafka"], ["out_csv", "log_filter"], "section [in_kafka] is not read: 'input' is not kafka"),
    ],
)
def test_sections_nothing_reads_are_named(sections, used, warning):
    (found,) = unused_sections({}, sections, used)
    assert found.endswith(warning)


def test_a_use_cases_own_sections_are_left_alone():
    assert unused_sections({}, ["thresholds", "out_csv"], ["out_csv", "log_filter"]) == []


def test_reading_a_conf_warns_once_of_a_section_nothing_reads(make_usecase, capsys):
    path = make_usecase(conf=usecase_conf(extra="[csv]\npath = out.csv\n[thresholds]\nlimit = 5\n"))
    read_usecase(path)
    read_usecase(path)
    assert capsys.readouterr().err.splitlines() == [
        f"[!] {path.resolve()}: section [csv] is not read by anything (did you mean [out_csv]?)"
    ]


def test_an_unknown_plugin_names_the_likely_one(make_usecase):
    from datashark.loading.plugin_loader import load_output_plugin

    usecase = read_usecase(make_usecase(conf=usecase_conf(output="cvs")))
    with pytest.raises(ConfigError, match=r"unknown output plugin 'cvs' \(did you mean 'csv'\?\)"):
        load_output_plugin(REPO, usecase)
