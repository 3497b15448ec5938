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

from sigma.collection import SigmaCollection
from sigma.correlations import SigmaCorrelationRule
from sigma.exceptions import SigmaRuleLocation
from sigma.processing.pipeline import ProcessingPipeline
from sigma.rule import SigmaRule

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
class Detection:
    """One Sigma rule compiled to a Spark SQL condition (its fields as markers, see
    ``backend.bind``). ``output``: whether its matches are findings of their own (False for a
    rule that only feeds a correlation, ``generate: false``)."""

    number: int
    id: str
    title: str
    level: str
    tags: tuple[str, ...]
    file: str
    condition: str
    output: bool = True

    @property
    def score(self) -> float:
        return SCORE_BY_LEVEL.get(self.level, severity.MEDIUM)

    def at_least(self, level: str) -> bool:
        """Whether the rule's level is ``level`` or above."""
        return LEVELS.index(self.level) >= LEVELS.index(level)

    @property
    def fields(self) -> list[str]:
        return referenced_fields(self.condition)

    @property
    def techniques(self) -> list[str]:
        """The ATT&CK techniques of its tags: ``attack.t1055.003`` -> ``T1055.003``."""
        names = (tag.split(".", 1)[1] for tag in self.tags if tag.startswith("attack.t"))
        return [name.upper() for name in names if name[1:2].isdigit()]


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
    """The rules of a use case: those that run, those that cannot, and the correlations."""

    detections: list[Detection] = field(default_factory=list)
    unconverted: list[Unconverted] = field(default_factory=list)
    correlations: list[SigmaCorrelationRule] = field(default_factory=list)


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
    collection = SigmaCollection([])
    for path in files:
        loaded = _read(path, ruleset)
        if loaded is not None:
            collection.rules.extend(loaded.rules)
    collection.resolve_rule_references()
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


def _convert(rule: SigmaRule, backend: SparkSqlBackend, ruleset: RuleSet) -> None:
    file = str(rule.source.path) if rule.source is not None else ""
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
    ruleset.detections.append(
        Detection(
            number=len(ruleset.detections),
            id=str(rule.id or rule.name or Path(file).stem),
            title=rule.title,
            level=rule.level.name.lower() if rule.level is not None else UNSET_LEVEL,
            tags=tuple(str(tag) for tag in rule.tags),
            file=file,
            condition=condition,
            output=rule._output,
        )
    )


def _reason(error: BaseException) -> str:
    """An error as one line, without pySigma's location suffix (the file is named already)."""
    text = " ".join(str(error).split()) or type(error).__name__
    return text.split(" (while ", 1)[0]
