"""The ElastAlert2 rules shipped in the use cases' ``elastalert/`` folders, checked against what
each use case writes before ElastAlert2 starts: a rule that cannot parse, lacks a key
ElastAlert2 needs, or reads an index or time field its use case does not write is one line
naming the file and key (ElastAlert2 itself would query nothing and stay silent).
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from datashark.alerting.findings import Findings, rule_files
from datashark.config.yaml_files import read_yaml
from datashark.errors import ConfigError, ConfLocation
from datashark.sinks.documents import TIMESTAMP_FIELD

# What ElastAlert2 requires of every rule (its RulesLoader.required_locals).
REQUIRED_KEYS = ("name", "type", "index", "alert")


@dataclass(frozen=True)
class Rule:
    """One rule file, read, and the use cases whose findings it reads."""

    path: Path
    name: str
    body: dict[str, Any] = field(repr=False)
    findings: tuple[Findings, ...] = field(repr=False)


def collect_rules(findings: list[Findings], now: datetime | None = None) -> list[Rule]:
    """Every rule beside the use cases of ``findings``; ConfigError for the first rule at fault."""
    now = now or datetime.now(timezone.utc)
    by_folder: dict[Path, list[Findings]] = {}
    for one in findings:
        by_folder.setdefault(one.rules_folder, []).append(one)
    rules: list[Rule] = []
    names: dict[str, Path] = {}
    for folder, writers in by_folder.items():
        paths = rule_files(folder)
        if not paths:
            raise writers[0].where.error(f"has no ElastAlert2 rules beside it: no *.yaml in {folder}")
        for path in paths:
            rule = read_rule(path, writers, now)
            if rule.name in names:
                where = ConfLocation(str(path)).at("name")
                raise where.error(f"{rule.name!r} is also the name of {names[rule.name]}: names must differ")
            names[rule.name] = path
            rules.append(rule)
    return rules


def read_rule(path: Path, writers: list[Findings], now: datetime) -> Rule:
    """The rule in ``path``, checked against the use cases of its folder."""
    where = ConfLocation(str(path))
    body = _parsed(path)
    for key in REQUIRED_KEYS:
        if body.get(key) in (None, "", []):
            raise where.at(key).error("is required (ElastAlert2 needs name, type, index and alert)")
    if not isinstance(body["name"], str) or not isinstance(body["index"], str):
        key = "name" if not isinstance(body["name"], str) else "index"
        raise where.at(key).error(f"must be a string, not {body[key]!r}")
    time_field = body.get("timestamp_field", TIMESTAMP_FIELD)
    if time_field != TIMESTAMP_FIELD:
        raise where.at("timestamp_field").error(
            f"is {time_field!r}: dataShark writes a finding's time as {TIMESTAMP_FIELD}"
        )
    readers = tuple(one for one in writers if reads_index(body, one.index, now))
    if not readers:
        written = ", ".join(sorted({f"{one.index} ({one.conf.name})" for one in writers}))
        raise where.at("index").error(
            f"{body['index']!r} matches no index its use cases write ({written}): "
            "change the rule's index or their [out_elasticsearch] index_name"
        )
    return Rule(path, body["name"], body, readers)


def _parsed(path: Path) -> dict[str, Any]:
    body = read_yaml(path)
    if not isinstance(body, dict):
        raise ConfigError(f"{path}: not an ElastAlert2 rule (a YAML mapping of keys)")
    return body


def reads_index(body: dict[str, Any], index: str, now: datetime) -> bool:
    """Whether the rule's ``index`` (comma-separated patterns, strftime-filled for
    ``use_strftime_index``) covers ``index``."""
    patterns = [pattern.strip() for pattern in str(body["index"]).split(",") if pattern.strip()]
    if body.get("use_strftime_index"):
        patterns = [now.strftime(pattern) for pattern in patterns]
    return any(fnmatch.fnmatchcase(index, pattern) for pattern in patterns)
