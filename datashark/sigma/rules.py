"""Sigma rule files -> the conditions dataShark evaluates: loaded, filtered, converted.

Every file is read on its own, so a rule that does not parse or convert is set aside with its
file and reason (``Unconverted``) and the others run. Sigma filters and correlation rules found
among the files apply as pySigma applies them (``SigmaCollection.resolve_rule_references``).
"""

from __future__ import annotations

import glob
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sigma.collection import SigmaCollection
from sigma.correlations import SigmaCorrelationRule
from sigma.exceptions import SigmaRuleLocation
from sigma.filters import SigmaFilter
from sigma.processing.pipeline import ProcessingPipeline
from sigma.rule import SigmaRule, SigmaRuleBase

from datashark.detect import severity
from datashark.sigma.backend import SparkSqlBackend, referenced_fields

RULE_SUFFIXES = (".yml", ".yaml")
SCORE_BY_LEVEL = {
    "informational": severity.INFORMATIONAL,
    "low": severity.LOW,
    "medium": severity.MEDIUM,
    "high": severity.HIGH,
    "critical": severity.CRITICAL,
}
UNSET_LEVEL = "medium"  # a rule without a level: Sigma's middle one
LEVELS = tuple(SCORE_BY_LEVEL)  # lowest first


@dataclass(frozen=True)
class Rule:
    """What a finding says of the rule that made it: the rule's identity, level and tags."""

    number: int
    id: str
    title: str
    level: str
    tags: tuple[str, ...]
    file: str

    @property
    def score(self) -> float:
        return SCORE_BY_LEVEL.get(self.level, severity.MEDIUM)

    def at_least(self, level: str) -> bool:
        """Whether the rule's level is ``level`` or above."""
        return LEVELS.index(self.level) >= LEVELS.index(level)

    @property
    def techniques(self) -> list[str]:
        """The ATT&CK techniques of its tags: ``attack.t1055.003`` -> ``T1055.003``."""
        names = (tag.split(".", 1)[1] for tag in self.tags if tag.startswith("attack.t"))
        return [name.upper() for name in names if name[1:2].isdigit()]


@dataclass(frozen=True)
class Detection(Rule):
    """One Sigma rule compiled to a Spark SQL condition (its fields as markers, see
    ``backend.bind``). ``output``: whether its matches are findings of their own (False for a
    rule that only feeds a correlation, ``generate: false``)."""

    condition: str = ""
    output: bool = True

    @property
    def fields(self) -> list[str]:
        return referenced_fields(self.condition)


@dataclass(frozen=True)
class Unconverted:
    """A rule file (or one rule of it) that cannot run here, and why."""

    file: str
    title: str
    reason: str

    def __str__(self) -> str:
        what = f"{self.file} ({self.title})" if self.title else self.file
        return f"{what}: {self.reason}"


@dataclass
class RuleSet:
    """The rules of a use case: those that run, those that cannot, the correlations (see
    ``correlations.correlations_of``), and the detection number of each converted rule object."""

    detections: list[Detection] = field(default_factory=list)
    unconverted: list[Unconverted] = field(default_factory=list)
    correlations: list[SigmaCorrelationRule] = field(default_factory=list)
    numbers: dict[int, int] = field(default_factory=dict)  # id(SigmaRule) -> Detection.number


def rule_files(patterns: Iterable[str]) -> list[Path]:
    """The rule files of ``patterns`` (each a file, a folder searched recursively for ``.yml``
    and ``.yaml``, or a glob), sorted, each once."""
    found: set[Path] = set()
    for pattern in patterns:
        for match in glob.glob(pattern, recursive=True) or ([pattern] if Path(pattern).exists() else []):
            path = Path(match)
            if path.is_dir():
                found.update(item for item in path.rglob("*") if item.suffix in RULE_SUFFIXES)
            elif path.suffix in RULE_SUFFIXES:
                found.add(path)
    return sorted(found)


def compile_rules(files: list[Path], pipeline: ProcessingPipeline, keywords_field: str) -> RuleSet:
    """Read, filter and convert the rules of ``files`` with ``pipeline``; ``keywords_field``:
    the field a rule's bare keywords search (the whole message)."""
    ruleset = RuleSet()
    rules: list[SigmaRule | SigmaCorrelationRule | SigmaFilter] = []
    for path in files:
        loaded = _read(path, ruleset)
        if loaded is not None:
            rules.extend(loaded.rules)
    collection = SigmaCollection(rules)
    for rule in list(collection.rules):  # a correlation whose rules are not there: set aside
        if isinstance(rule, SigmaCorrelationRule):
            try:
                rule.resolve_rule_references(collection)
            except Exception as err:  # pySigma's SigmaRuleNotFoundError and kin
                ruleset.unconverted.append(Unconverted(_file_of(rule), rule.title, _reason(err)))
                collection.rules.remove(rule)
    collection.resolve_rule_references()  # filters applied, rules sorted by reference
    backend = SparkSqlBackend(pipeline, raw_log_field=keywords_field)
    for rule in collection.rules:
        if isinstance(rule, SigmaCorrelationRule):
            ruleset.correlations.append(rule)
        elif isinstance(rule, SigmaRule):
            _convert(rule, backend, ruleset)
    return ruleset


def _read(path: Path, ruleset: RuleSet) -> SigmaCollection | None:
    try:
        loaded = SigmaCollection.from_yaml(
            path.read_bytes(), collect_errors=True, source=SigmaRuleLocation(path), resolve_references=False
        )
    except Exception as err:  # not YAML, unreadable: the file is skipped, the others run
        ruleset.unconverted.append(Unconverted(str(path), "", _reason(err)))
        return None
    kept = [rule for rule in loaded.rules if not rule.errors]
    for rule in loaded.rules:
        if rule.errors:
            ruleset.unconverted.append(Unconverted(str(path), rule.title, _reason(rule.errors[0])))
    of_rules = {id(error) for rule in loaded.rules for error in rule.errors}
    for error in loaded.errors:  # those of the file rather than of a rule in it
        if id(error) not in of_rules:
            ruleset.unconverted.append(Unconverted(str(path), "", _reason(error)))
    loaded.rules = kept
    return loaded


def _file_of(rule: SigmaRuleBase) -> str:
    return str(rule.source.path) if rule.source is not None else ""


def _convert(rule: SigmaRule, backend: SparkSqlBackend, ruleset: RuleSet) -> None:
    file = _file_of(rule)
    try:
        backend.convert_rule(rule)
        queries = [query for query in rule.get_conversion_result() if isinstance(query, str)]
    except Exception as err:  # pySigma and its backend raise many kinds: the rule is skipped
        ruleset.unconverted.append(Unconverted(file, rule.title, _reason(err)))
        return
    if not queries:
        ruleset.unconverted.append(Unconverted(file, rule.title, "converts to no condition"))
        return
    condition = queries[0] if len(queries) == 1 else " OR ".join(f"({query})" for query in queries)
    ruleset.numbers[id(rule)] = len(ruleset.detections)
    ruleset.detections.append(
        Detection(**identity(rule, len(ruleset.detections), file), condition=condition, output=rule._output)
    )


def identity(rule: SigmaRuleBase, number: int, file: str) -> dict[str, Any]:
    """The ``Rule`` fields of a pySigma rule: its number here, id, title, level, tags and file."""
    return {
        "number": number,
        "id": str(rule.id or rule.name or Path(file).stem),
        "title": rule.title,
        "level": rule.level.name.lower() if rule.level is not None else UNSET_LEVEL,
        "tags": tuple(str(tag) for tag in rule.tags),
        "file": file,
    }


def _reason(error: BaseException) -> str:
    """An error as one line, without pySigma's location suffix (the file is named already)."""
    text = " ".join(str(error).split()) or type(error).__name__
    return text.split(" (while ", 1)[0]
