"""Sigma rules -> Spark SQL conditions (no Spark): conversion, NULL-safe NOT, numbers, fields."""

from __future__ import annotations

from pathlib import Path

import pytest

from datashark.errors import ConfigError, ConfLocation
from datashark.sigma.backend import NULL_FIELD, bind
from datashark.sigma.columns import text_columns
from datashark.sigma.pipelines import processing_pipeline
from datashark.sigma.rules import compile_rules, rule_files
from tests.conftest import REPO

SHIPPED = REPO / "conf" / "sigma" / "rules"
WHERE = ConfLocation("sigma.conf").at("pipeline")


def compiled(tmp_path: Path, detection: str, pipeline: tuple[str, ...] = ("sysmon", "windows-logsources")):
    rule = tmp_path / "rule.yml"
    rule.write_text(
        "title: t\nlogsource:\n    product: windows\n    category: process_creation\n"
        f"detection:\n{detection}\nlevel: critical\n"
        "tags:\n    - attack.t1003.001\n    - attack.credential-access\n"
    )
    return compile_rules([rule], processing_pipeline(list(pipeline), str, WHERE), "Message")


def test_every_shipped_rule_converts() -> None:
    files = rule_files([str(SHIPPED)])
    ruleset = compile_rules(
        files, processing_pipeline(["sysmon", "windows-logsources"], str, WHERE), "Message"
    )
    assert len(files) == 20 and len(ruleset.detections) == 20 and not ruleset.unconverted


def test_the_pipelines_add_the_event_id_and_channel(tmp_path: Path) -> None:
    (rule,) = compiled(
        tmp_path, "    selection:\n        Image|endswith: '\\x.exe'\n    condition: selection"
    ).detections
    assert "try_cast(\x1fEventID\x1f AS BIGINT) = 1" in rule.condition
    assert "lower(\x1fChannel\x1f) = lower('Microsoft-Windows-Sysmon/Operational')" in rule.condition
    assert set(rule.fields) == {"EventID", "Channel", "Image"}
    assert rule.score == 90.0 and rule.techniques == ["T1003.001"]
    (bare,) = compiled(
        tmp_path, "    selection:\n        Image: x\n    condition: selection", ("none",)
    ).detections
    assert bare.fields == ["Image"]


def test_a_not_treats_a_missing_field_as_no_match(tmp_path: Path) -> None:
    detection = "    a:\n        Image: x\n    b:\n        ParentImage: y\n    condition: a and not b"
    (rule,) = compiled(tmp_path, detection, ("none",)).detections
    assert "NOT coalesce(lower(\x1fParentImage\x1f) = lower('y'), false)" in rule.condition
    # Bound to events without ParentImage: NULL inside the coalesce, so the NOT holds.
    assert "NOT coalesce(lower(CAST(NULL AS STRING)) = lower('y'), false)" in bind(
        rule.condition, {"Image": "`Image`"}
    )


def test_numbers_compare_as_numbers_or_not_at_all(tmp_path: Path) -> None:
    detection = "    a:\n        LogonType: 3\n        Size|gte: 2.5\n    condition: a"
    (rule,) = compiled(tmp_path, detection, ("none",)).detections
    assert "try_cast(\x1fLogonType\x1f AS BIGINT) = 3" in rule.condition
    assert "try_cast(\x1fSize\x1f AS DOUBLE) >= 2.5" in rule.condition


def test_a_rule_that_does_not_convert_is_set_aside_with_its_reason(tmp_path: Path) -> None:
    ruleset = compiled(tmp_path, "    a:\n        User|expand: '%admins%'\n    condition: a")
    assert not ruleset.detections
    (item,) = ruleset.unconverted
    assert str(item).startswith(f"{tmp_path / 'rule.yml'} (t): ") and "admins" in item.reason


def test_a_file_that_is_no_rule_is_set_aside(tmp_path: Path) -> None:
    (tmp_path / "a.yml").write_text("title: [unclosed\n")
    (tmp_path / "b.yml").write_text("title: no detection\nlogsource:\n    product: windows\n")
    ruleset = compile_rules(rule_files([str(tmp_path)]), processing_pipeline([], str, WHERE), "Message")
    assert [Path(item.file).name for item in ruleset.unconverted] == ["a.yml", "b.yml"]


def test_bind_reads_unknown_fields_as_null() -> None:
    assert bind("\x1fA\x1f = \x1fB\x1f", {"A": "`a`", "B": None}) == f"`a` = {NULL_FIELD}"


def test_rule_files_take_folders_globs_and_files(tmp_path: Path) -> None:
    (tmp_path / "x" / "y").mkdir(parents=True)
    for name in ("x/a.yml", "x/y/b.yaml", "x/c.txt", "d.yml"):
        (tmp_path / name).write_text("")
    assert rule_files([str(tmp_path / "x")]) == [tmp_path / "x/a.yml", tmp_path / "x/y/b.yaml"]
    assert rule_files([str(tmp_path / "*.yml"), str(tmp_path / "d.yml")]) == [tmp_path / "d.yml"]


def test_an_unknown_pipeline_names_the_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"sigma.conf: key 'pipeline': no pipeline 'sysmn'"):
        processing_pipeline(["sysmn"], lambda name: str(tmp_path / name), WHERE)
    (tmp_path / "bad.yml").write_text("transformations: 3\n")
    with pytest.raises(ConfigError, match=r"bad.yml: not a pySigma processing pipeline"):
        processing_pipeline(["bad.yml"], lambda name: str(tmp_path / name), WHERE)


def test_a_stream_without_schema_reads_the_fields_as_text_nested_by_dots() -> None:
    ddl = text_columns(
        ["Image", "@timestamp", "winlog.event_data.Image", "host.name", "winlog.record_id", "host", "Image"]
    )
    assert ddl == (
        "`Image` STRING, `@timestamp` STRING, "
        "`winlog` STRUCT<`event_data`: STRUCT<`Image`: STRING>, `record_id`: STRING>, `host` STRING"
    )
