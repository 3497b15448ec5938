"""Durations as confs write them: ``250ms``, ``30s``, ``5m``, ``1.5h``, ``1d``."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from datashark.errors import ConfLocation

UNITS_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}
DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?")


def duration_ms(text: str, where: ConfLocation, *, bare: str = "s", at_least_ms: int = 0) -> int:
    """``text`` in ms; a number without a unit counts in ``bare`` units. A ConfigError at
    ``where`` for what is no duration, or one shorter than ``at_least_ms``."""
    found = DURATION.fullmatch(text.strip().lower())
    ms = round(float(found[1]) * UNITS_MS[found[2] or bare]) if found else -1
    if ms < at_least_ms:
        shortest = f" of {at_least_ms / 1000:g}s or more" if at_least_ms else ""
        bare_words = {"s": "seconds", "m": "minutes"}.get(bare, bare)
        raise where.error(
            f"{text!r} is not a duration{shortest} such as 30s, 5m, 2h or 1d (a bare number: {bare_words})"
        )
    return ms
