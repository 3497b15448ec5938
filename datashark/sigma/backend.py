"""Sigma conditions as Spark SQL: pySigma's Databricks backend, made exact for open-source Spark.

The Databricks backend writes Spark SQL (``lower(f) = lower('x')``, ``rlike '(?isu)…'``); four
things are changed here so that a rule means on Spark what the Sigma specification says:

- **NOT over a missing field matches.** In SQL ``NOT (NULL = 'x')`` is NULL, which a filter drops;
  in Sigma a field that is absent does not match, so its negation does. Every ``NOT`` gets its
  operand as ``coalesce(…, false)``.
- **Numbers compare as numbers, whatever the column holds.** Spark 4 runs in ANSI mode, where
  ``'-' = 3`` fails the whole job; a number is compared with ``try_cast(field AS …)`` (no match
  when the value is not a number).
- **CIDR without Databricks' functions.** ``ip_cidr_contains`` exists on Databricks only; a CIDR
  is expanded into address prefixes, as pySigma does for backends without one.
- **Fields are left as markers** (``FIELD_MARK``): a rule compiles once and is bound to a DataFrame
  later, a field the events do not have becoming NULL (``bind``), not an error.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from sigma.backends.databricks import DatabricksBackend
from sigma.conditions import ConditionFieldEqualsValueExpression, ConditionNOT
from sigma.conversion.state import ConversionState
from sigma.types import SigmaCompareExpression, SigmaNumber

# A field reference in a compiled condition: \x1f<name>\x1f (the unit separator, which no rule's
# text holds). A name itself never contains it.
FIELD_MARK = "\x1f"
FIELD_REFERENCE = re.compile(f"{FIELD_MARK}([^{FIELD_MARK}]*){FIELD_MARK}")
NULL_FIELD = "CAST(NULL AS STRING)"


class SparkSqlBackend(DatabricksBackend):
    """pySigma's Databricks backend with Sigma's NULL semantics, ANSI-safe numbers, CIDR as
    prefixes and field markers (see the module's docstring)."""

    name: ClassVar[str] = "datashark-spark-sql"
    cidr_expression: ClassVar[str | None] = None  # expand to prefixes
    # An OR of values stays an OR of contains()/startswith()/endswith(): the backend's regex of
    # them costs a regex search per event where those are plain string searches.
    optimize_or_as_regex: ClassVar[bool] = False

    def escape_and_quote_field(self, field_name: str) -> str:
        return f"{FIELD_MARK}{field_name}{FIELD_MARK}"

    def convert_condition_not(self, cond: ConditionNOT, state: ConversionState) -> Any:
        converted = super().convert_condition_not(cond, state)
        prefix = f"{self.not_token}{self.token_separator}"
        if isinstance(converted, str) and converted.startswith(prefix):
            return f"{prefix}coalesce({converted[len(prefix) :]}, false)"
        return converted

    def convert_condition_field_eq_val_num(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Any:
        return f"{number_of(self.escape_and_quote_field(cond.field), cond.value)} = {cond.value}"

    def convert_condition_field_compare_op_val(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Any:
        value = cond.value
        if isinstance(value, SigmaCompareExpression) and isinstance(value.number, SigmaNumber):
            operator = self.compare_operators[value.op]  # type: ignore[index]
            field = number_of(self.escape_and_quote_field(cond.field), value.number)
            return f"{field} {operator} {value.number}"
        return super().convert_condition_field_compare_op_val(cond, state)


def number_of(field: str, number: Any) -> str:
    """``field`` as the type of ``number`` (a SigmaNumber), NULL when it is no number."""
    kind = "DOUBLE" if isinstance(getattr(number, "number", number), float) else "BIGINT"
    return f"try_cast({field} AS {kind})"


def referenced_fields(condition: str) -> list[str]:
    """The fields a compiled condition reads, in order of first use."""
    return list(dict.fromkeys(FIELD_REFERENCE.findall(condition)))


def bind(condition: str, column_of: dict[str, str | None]) -> str:
    """A compiled condition as Spark SQL over a DataFrame: each field replaced by its column
    reference (``column_of``), or NULL when the events have no such field (None)."""

    def reference(match: re.Match[str]) -> str:
        return column_of.get(match.group(1)) or NULL_FIELD

    return FIELD_REFERENCE.sub(reference, condition)
