"""Alternating rounds of a single-process baseline and dataShark, and the medians' report:
what the Elasticsearch benchmarks share."""

from __future__ import annotations

import statistics
from collections.abc import Callable

BASELINE, DATASHARK = "single process", "dataShark"


def alternate(
    runs: int, warmup: int, docs: int, baseline: Callable[[int], float], datashark: Callable[[int], float]
) -> dict[str, list[float]]:
    """Seconds of each counted round of ``baseline`` then ``datashark`` (each given the round's
    number from 0, warm-ups first), after ``warmup`` rounds that are not counted: the node's
    JIT and caches, Spark's Python workers."""
    results: dict[str, list[float]] = {BASELINE: [], DATASHARK: []}
    for run in range(-warmup, runs):
        single = baseline(run + warmup)
        ours = datashark(run + warmup)
        if run >= 0:
            results[BASELINE].append(single)
            results[DATASHARK].append(ours)
        label = f"round {run + 1}" if run >= 0 else "warm-up"
        print(
            f"{label}: {BASELINE} {docs / single:,.0f} docs/s, {DATASHARK} {docs / ours:,.0f} docs/s",
            flush=True,
        )
    return results


def report(docs: int, results: dict[str, list[float]], setup: str) -> None:
    """The medians in documents/s and their ratio, under a line saying what was run."""
    medians = {name: docs / statistics.median(times) for name, times in results.items()}
    print(f"\n{docs:,} documents, median of {len(results[BASELINE])} rounds, {setup}")
    for name, rate in medians.items():
        print(f"  {name}: {rate:,.0f} docs/s")
    print(f"  ratio {DATASHARK} / {BASELINE}: {medians[DATASHARK] / medians[BASELINE]:.2f}")
