"""What ``datashark test`` prints: a PASS or FAIL line per case run, for a failure the expected
and found findings side by side, and the count of passed and failed runs."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from datashark.events.records import metadata_of
from datashark.plugin_api import printable
from datashark.testing.cases import ExpectedFinding, plain
from datashark.testing.findings import MATCHED, UNEXPECTED, Comparison, Line
from datashark.testing.runner import Outcome, dead_letter_summary

INDENT = "    "
MAX_EXPECTED_WIDTH = 60
MAX_FOUND_CHARS = 160
NOTHING = "-"


def outcome_lines(outcome: Outcome, *, verbose: bool = False) -> list[str]:
    """``PASS <uc>/<case> (mode)``, or ``FAIL ...`` followed by why."""
    if outcome.passed:
        return [f"PASS {outcome.run.title}"]
    lines = [f"FAIL {outcome.run.title}"]
    if outcome.error is not None:
        lines.append(f"{INDENT}error: {outcome.error}")
    if outcome.comparison is not None:
        lines.extend(comparison_lines(outcome.comparison))
    if outcome.dead_letters:
        lines.append(f"{INDENT}dead letters: {dead_letter_summary(outcome.dead_letters)}")
    if verbose and outcome.console.strip():
        lines.append(f"{INDENT}console:")
        lines.extend(f"{INDENT}  {line}" for line in outcome.console.rstrip().splitlines())
    return lines


def comparison_lines(comparison: Comparison) -> list[str]:
    """The expectations and findings in two aligned columns (or, when the expectations are too
    wide for that, each above its finding), one status word per line:
    ``ok``, ``differs`` (same key: what differs is named), ``missing``, ``unexpected``
    (``unlisted`` when the case allows findings it does not list)."""
    if not comparison.lines:
        return [f"{INDENT}expected no finding and found none"]
    cells = [(_status(line, comparison), _expected(line.expected), _found(line)) for line in comparison.lines]
    width = max(len("expected"), *(len(expected) for _, expected, _ in cells))
    status_width = max(len(status) for status, _, _ in cells)
    if width > MAX_EXPECTED_WIDTH:  # too wide for two columns: each finding on two lines
        rows = []
        for status, expected, found in cells:
            rows.append(f"{INDENT}{status:<{status_width}}  expected  {expected}")
            rows.append(f"{INDENT}{'':<{status_width}}  found     {found}")
        return rows
    rows = [f"{INDENT}{'':<{status_width}}  {'expected':<{width}}  found"]
    for status, expected, found in cells:
        rows.append(f"{INDENT}{status:<{status_width}}  {expected:<{width}}  {found}".rstrip())
    return rows


def summary(outcomes: Iterable[Outcome]) -> str:
    results = [outcome.passed for outcome in outcomes]
    return f"{results.count(True)} passed, {results.count(False)} failed"


def _status(line: Line, comparison: Comparison) -> str:
    if line.status == UNEXPECTED and comparison.allow_unlisted:
        return "unlisted"
    return line.status


def _expected(expected: ExpectedFinding | None) -> str:
    return printable(expected.describe()) if expected is not None else NOTHING


def _found(line: Line) -> str:
    """The finding: key, score, and its metadata; next to an expectation only the metadata
    entries it names, with what differs said at the end."""
    if line.found is None:
        return NOTHING
    key, score = line.found[0], line.found[1]
    metadata = metadata_of(line.found)
    if line.expected is not None:
        shown = {name: metadata[name] for name in line.expected.metadata if name in metadata}
        missing = [name for name in line.expected.metadata if name not in metadata]
    else:
        shown, missing = dict(metadata), []
    parts = [str(key), _number(score)]
    parts.extend(f"{name}={_value(value)}" for name, value in shown.items())
    parts.extend(f"{name} absent" for name in missing)
    text = printable("  ".join(parts))
    if len(text) > MAX_FOUND_CHARS:
        text = text[: MAX_FOUND_CHARS - 3] + "..."
    if line.status != MATCHED and line.problems:
        text += f"   <- {', '.join(line.problems)}"
    return text


def _number(value: Any) -> str:
    """A score in full (two scores that differ never print alike), numpy's as Python's."""
    return str(float(value)) if isinstance(value, float) else str(value)


def _value(value: Any) -> str:
    value = plain(value)
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
