"""One scale for every detection's score, so findings of different use cases compare and sort.

Scores run from 0 to 100, in the bands Sigma's levels and ECS's ``event.risk_score`` use:
informational below 20, low from 20, medium from 40, high from 60, critical from 80. A detection
documents how it places its findings on this scale; the helpers below make that short.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

INFORMATIONAL = 10.0
LOW = 30.0
MEDIUM = 50.0
HIGH = 70.0
CRITICAL = 90.0
MAXIMUM = 100.0


def level_of(score: float) -> str:
    """The band a score falls in: ``informational``, ``low``, ``medium``, ``high`` or ``critical``."""
    for floor, name in ((80, "critical"), (60, "high"), (40, "medium"), (20, "low")):
        if score >= floor:
            return name
    return "informational"


def grows_with(value: float, *, threshold: float, saturation: float, low: float, high: float) -> float:
    """A score from ``low`` (``value`` at ``threshold``) to ``high`` (at ``saturation`` and beyond),
    growing with the logarithm of ``value``: 20 failed logins is clearly worse than 10, 2,000 not
    a hundred times worse than 20. Below ``threshold``: 0 (no finding)."""
    if value < threshold:
        return 0.0
    if saturation <= threshold or value >= saturation:
        return high
    share = math.log(value / threshold) / math.log(saturation / threshold)
    return round(low + (high - low) * share, 1)


def combined(scores: Iterable[float], *, bonus: float = 5.0) -> float:
    """Several signals of one entity: the strongest, plus ``bonus`` for each other one that fired
    (a client probing paths *and* sending SQL injection is worse than either), at most 100."""
    fired = sorted((score for score in scores if score > 0), reverse=True)
    if not fired:
        return 0.0
    return min(MAXIMUM, round(fired[0] + bonus * (len(fired) - 1), 1))
