"""Sigma correlation rules: counts of other rules' matches per group of events and time span.

A correlation (``type: event_count``, ``value_count``, ``temporal``, ``value_sum``,
``value_avg``) names the rules whose matches it counts, the fields that group them, a time span
and a condition such as ``gte: 10``. dataShark evaluates it over the matches of the one pass
(``findings.sigma_findings``), in tumbling windows of the time span, event time, as every
DataFrame window (streaming: closed by the watermark). Correlations of correlations, field
aliases, ``temporal_ordered`` and percentiles are set aside with that reason.
"""

from __future__ import annotations

from dataclasses import dataclass

from sigma.correlations import (
    SigmaCorrelationCondition,
    SigmaCorrelationConditionOperator,
    SigmaCorrelationRule,
    SigmaCorrelationType,
)

from datashark.sigma.rules import Rule, RuleSet, Unconverted, identity

OPERATORS = {
    SigmaCorrelationConditionOperator.LT: "<",
    SigmaCorrelationConditionOperator.LTE: "<=",
    SigmaCorrelationConditionOperator.GT: ">",
    SigmaCorrelationConditionOperator.GTE: ">=",
    SigmaCorrelationConditionOperator.EQ: "=",
    SigmaCorrelationConditionOperator.NEQ: "!=",
}
# What each type measures over a group's matches in a window (see findings.correlation_measure).
KINDS = {
    SigmaCorrelationType.EVENT_COUNT: "event_count",
    SigmaCorrelationType.VALUE_COUNT: "value_count",
    SigmaCorrelationType.TEMPORAL: "temporal",
    SigmaCorrelationType.VALUE_SUM: "value_sum",
    SigmaCorrelationType.VALUE_AVG: "value_avg",
}
NEEDS_FIELD = ("value_count", "value_sum", "value_avg")


@dataclass(frozen=True)
class Correlation(Rule):
    """A correlation rule ready to run: ``kind`` of measure over the matches of the detections
    ``rules`` (their numbers), grouped by ``group_by`` in windows of ``seconds``, a finding when
    ``measure <operator> threshold``. ``field``: what ``value_*`` types measure."""

    kind: str = "event_count"
    rules: tuple[int, ...] = ()
    group_by: tuple[str, ...] = ()
    seconds: int = 60
    operator: str = ">="
    threshold: float = 1
    field: str | None = None

    @property
    def condition(self) -> str:
        """The condition as a finding names it: ``event_count >= 10``."""
        return f"{self.kind} {self.operator} {self.threshold:g}"

    @property
    def fields_read(self) -> list[str]:
        """The event fields it groups by and measures."""
        return [*self.group_by, *([self.field] if self.field else [])]


def correlations_of(ruleset: RuleSet, first_number: int) -> tuple[list[Correlation], list[Unconverted]]:
    """The correlations of ``ruleset`` that can run, numbered from ``first_number``, and the
    others with their reason."""
    ready: list[Correlation] = []
    unrunnable: list[Unconverted] = []
    for rule in ruleset.correlations:
        file = str(rule.source.path) if rule.source is not None else ""
        try:
            ready.append(_correlation(rule, ruleset, first_number + len(ready), file))
        except ValueError as err:
            unrunnable.append(Unconverted(file, rule.title, str(err)))
    return ready, unrunnable


def _correlation(rule: SigmaCorrelationRule, ruleset: RuleSet, number: int, file: str) -> Correlation:
    kind = KINDS.get(rule.type)
    if kind is None:
        raise ValueError(f"correlation type {rule.type.name.lower()} is not supported")
    if len(rule.aliases):
        raise ValueError("correlation field aliases are not supported")
    condition = rule.condition
    if not isinstance(condition, SigmaCorrelationCondition) or condition.percentile is not None:
        raise ValueError("only a single comparison (gte, gt, lte, lt, eq, neq) is supported as condition")
    numbers = []
    for reference in rule.rules or []:
        target = getattr(reference, "rule", None)
        if target is None or id(target) not in ruleset.numbers:
            raise ValueError(f"rule {reference.reference!r} is not a converted detection rule")
        numbers.append(ruleset.numbers[id(target)])
    field = condition.fieldref if isinstance(condition.fieldref, str) else None
    if kind in NEEDS_FIELD and field is None:
        raise ValueError(f"{kind} needs one field in its condition")
    operator, threshold = OPERATORS[condition.op], float(condition.count)
    if kind == "temporal" and condition == SigmaCorrelationCondition(
        SigmaCorrelationConditionOperator.GTE, 1
    ):
        operator, threshold = ">=", float(len(set(numbers)))  # no condition given: all the rules
    return Correlation(
        **identity(rule, number, file),
        kind=kind,
        rules=tuple(numbers),
        group_by=tuple(rule.group_by or ()),
        seconds=rule.timespan.seconds,
        operator=operator,
        threshold=threshold,
        field=field,
    )
