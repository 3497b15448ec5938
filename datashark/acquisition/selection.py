"""Which syslog events a use case reads: the ``[in_syslog]`` selectors, applied before ``load()``.

``program`` and ``facility`` are comma-separated names (any of them), ``severity`` is the least
severe level kept (``warning`` keeps emerg to warning, as a syslog selector ``*.warning``), and
``host`` a regular expression the whole host name must match. An event the selection leaves
out is skipped as the ``[log_filter]`` skips events: no dead letter, it was not asked for.
An event without the field a selector reads (a message without ``<PRI>`` has no facility) is
left out by that selector.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from datashark.errors import ConfLocation
from datashark.sinks.syslog_format import FACILITIES, SEVERITIES

SELECTOR_SPEC = (
    "program = string(min=1, default=None)",
    "facility = string(min=1, default=None)",
    "severity = string(min=1, default=None)",
    "host = string(min=1, default=None)",
)


@dataclass(frozen=True)
class Selection:
    """The selectors of one use case; picklable (it runs on the executors)."""

    programs: frozenset[str] | None = None
    facilities: frozenset[str] | None = None
    max_severity: int | None = None  # the highest severity code kept (0 emerg ... 7 debug)
    host: re.Pattern[str] | None = None

    @classmethod
    def from_conf(cls, conf: Mapping[str, Any], where: ConfLocation) -> Selection:
        """The selectors of an ``[in_syslog]`` section; ConfigError naming the key at fault."""
        facilities = _names((conf["facility"] or "").lower() or None)
        unknown = sorted(name for name in facilities or () if name not in FACILITIES)
        if unknown:
            raise where.at("facility").error(
                f"unknown facility {', '.join(unknown)} (one of {', '.join(FACILITIES)})"
            )
        max_severity = None
        if conf["severity"] is not None:
            level = conf["severity"].strip().lower()
            if level not in SEVERITIES:
                raise where.at("severity").error(
                    f"unknown severity {conf['severity']!r} (one of {', '.join(SEVERITIES)})"
                )
            max_severity = SEVERITIES[level]
        host = None
        if conf["host"] is not None:
            try:
                host = re.compile(conf["host"])
            except re.error as err:
                raise where.at("host").error(f"invalid regex: {err}") from None
        # Aliases (security, warn, ...) become the names events carry.
        canonical = frozenset(_facility_name(name) for name in facilities) if facilities else None
        return cls(_names(conf["program"]), canonical, max_severity, host)

    @property
    def selects_all(self) -> bool:
        return self == Selection()

    def __call__(self, event: Mapping[str, Any]) -> bool:
        """True when ``event`` is one the use case asked for."""
        if self.programs is not None and event.get("program") not in self.programs:
            return False
        if self.facilities is not None and event.get("facility") not in self.facilities:
            return False
        if self.max_severity is not None:
            severity = SEVERITIES.get(event.get("severity") or "")
            if severity is None or severity > self.max_severity:
                return False
        if self.host is not None:
            host = event.get("host")
            if not isinstance(host, str) or self.host.fullmatch(host) is None:
                return False
        return True

    def describe(self) -> str:
        """The selectors set, for the input's description: ``program sshd; severity warning or worse``."""
        parts = []
        if self.programs is not None:
            parts.append(f"program {', '.join(sorted(self.programs))}")
        if self.facilities is not None:
            parts.append(f"facility {', '.join(sorted(self.facilities))}")
        if self.max_severity is not None:
            parts.append(f"severity {_severity_name(self.max_severity)} or worse")
        if self.host is not None:
            parts.append(f"host ~ {self.host.pattern}")
        return "; ".join(parts)


def _names(text: str | None) -> frozenset[str] | None:
    if text is None:
        return None
    names = frozenset(part.strip() for part in text.split(",") if part.strip())
    return names or None


def _facility_name(name: str) -> str:
    code = FACILITIES[name]
    return next(known for known, known_code in FACILITIES.items() if known_code == code)


def _severity_name(code: int) -> str:
    return next(known for known, known_code in SEVERITIES.items() if known_code == code)
