"""``[log_filter]`` -> one compiled predicate over parsed JSON events.

``[[include]]`` patterns must all match, any ``[[exclude]]`` pattern drops the event, with
``re.match`` (anchored at the start only). A missing field is a non-match, non-string values
are matched on their JSON text, and each event is parsed once, whatever the number of keys.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from datashark.errors import ConfLocation


class LogFilter:
    """The compiled ``[log_filter]`` of one use case; picklable, so it runs on the executors."""

    def __init__(
        self, include: Mapping[str, str], exclude: Mapping[str, str], *, where: ConfLocation
    ) -> None:
        self.include = _compile(include, where.section("log_filter", "include"))
        self.exclude = _compile(exclude, where.section("log_filter", "exclude"))

    def __bool__(self) -> bool:
        return bool(self.include or self.exclude)

    def __call__(self, event: Mapping[str, Any]) -> bool:
        """True when ``event`` passes: every include matches and no exclude does."""
        for key, pattern in self.include:
            text = field_text(event, key)
            if text is None or not pattern.match(text):
                return False
        for key, pattern in self.exclude:
            text = field_text(event, key)
            if text is not None and pattern.match(text):
                return False
        return True


def field_text(event: Mapping[str, Any], key: str) -> str | None:
    """The text a pattern is matched against: strings as they are, other values as JSON."""
    if not isinstance(event, Mapping) or key not in event or event[key] is None:
        return None
    value = event[key]
    return value if isinstance(value, str) else json.dumps(value)


def _compile(patterns: Mapping[str, str], where: ConfLocation) -> list[tuple[str, re.Pattern[str]]]:
    compiled = []
    for key, pattern in patterns.items():
        try:
            compiled.append((key, re.compile(pattern)))
        except re.error as err:
            raise where.at(key).error(f"invalid regex {pattern!r}: {err}") from None
    return compiled
