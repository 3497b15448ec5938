"""Comparing what a run found with what a case expects.

Each expected finding must match a finding of its own (no finding serves two expectations).
The pairing is a maximum matching, so the order of the expectations never matters. Findings no
expectation claims fail the case, unless the case says ``allow_unlisted: true``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from datashark.testing.cases import Case, ExpectedFinding

MATCHED = "ok"
DIFFERS = "differs"
MISSING = "missing"
UNEXPECTED = "unexpected"


@dataclass(frozen=True)
class Line:
    """One line of a comparison: an expectation, a finding, or both side by side; ``problems``
    names what differs when both are given but do not match."""

    status: str
    expected: ExpectedFinding | None
    found: tuple | None
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class Comparison:
    """A case's expectations against a run's findings."""

    lines: tuple[Line, ...]
    allow_unlisted: bool

    @property
    def passed(self) -> bool:
        failing = {MISSING, DIFFERS} | (set() if self.allow_unlisted else {UNEXPECTED})
        return not any(line.status in failing for line in self.lines)


def compare(case: Case, rows: Sequence[tuple]) -> Comparison:
    """Pair the case's expectations with ``rows``; the unpaired ones are shown next to a
    finding of the same key when there is one (it differs), else as missing or unexpected."""
    expected = list(case.expect)
    pairs = _maximum_matching(expected, rows)
    lines = [Line(MATCHED, expected[i], rows[j]) for i, j in sorted(pairs.items())]
    unmatched_rows = [j for j in range(len(rows)) if j not in pairs.values()]
    for i, expectation in enumerate(expected):
        if i in pairs:
            continue
        same_key = next((j for j in unmatched_rows if rows[j][0] == expectation.key), None)
        if same_key is None:
            lines.append(Line(MISSING, expectation, None))
        else:
            unmatched_rows.remove(same_key)
            found = rows[same_key]
            lines.append(Line(DIFFERS, expectation, found, tuple(expectation.problems(found))))
    unmatched_rows.sort(key=lambda j: _order(rows[j]))
    lines.extend(Line(UNEXPECTED, None, rows[j]) for j in unmatched_rows)
    return Comparison(tuple(lines), case.allow_unlisted)


def _maximum_matching(expected: list[ExpectedFinding], rows: Sequence[tuple]) -> dict[int, int]:
    """``{expectation index: row index}`` pairing as many expectations as possible (Kuhn's
    augmenting paths; only rows of the same key are candidates, so this stays small)."""
    by_key: dict[str, list[int]] = {}
    for j, row in enumerate(rows):
        by_key.setdefault(row[0], []).append(j)
    candidates = [[j for j in by_key.get(e.key, []) if not e.problems(rows[j])] for e in expected]
    row_owner: dict[int, int] = {}

    def augment(i: int, visited: set[int]) -> bool:
        for j in candidates[i]:
            if j in visited:
                continue
            visited.add(j)
            if j not in row_owner or augment(row_owner[j], visited):
                row_owner[j] = i
                return True
        return False

    for i in range(len(expected)):
        augment(i, set())
    return {i: j for j, i in row_owner.items()}


def _order(row: tuple) -> tuple:
    return (str(row[0]), -float(row[1]))
