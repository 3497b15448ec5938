"""Reading a detection's tuning keys from its conf: flags, numbers, lists and networks.

A detection's ``Settings.from_conf`` reads each key with one of these; a value that cannot be
read is a ``ValueError`` naming the key and the value (``ports_threshold must be a number, not
'many'``), which the use case's start reports as one line.
"""

from __future__ import annotations

import ipaddress
from typing import Any

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

TRUE = ("true", "yes", "on", "1")
FALSE = ("false", "no", "off", "0")


def flag(key: str, value: Any) -> bool:
    """``true``/``yes``/``on``/``1`` or ``false``/``no``/``off``/``0`` (any case), or a bool."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in TRUE:
        return True
    if text in FALSE:
        return False
    raise ValueError(f"{key} must be true or false, not {value!r}")


def number(key: str, value: Any, *, least: float = 0.0) -> float:
    """A number of at least ``least`` (not NaN)."""
    try:
        found = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{key} must be a number, not {value!r}") from None
    if not found >= least:
        raise ValueError(f"{key} must be a number of {least:g} or more, not {value!r}")
    return found


def items(value: Any) -> tuple[str, ...]:
    """A comma-separated value (configobj gives a list when the conf leaves it unquoted) as its
    entries, stripped of blanks and quotes; empty entries left out."""
    if value is None:
        return ()
    parts = value if isinstance(value, (list, tuple)) else str(value).split(",")
    stripped = (str(part).strip().strip("'\"").strip() for part in parts)
    return tuple(part for part in stripped if part)


def networks(key: str, value: Any) -> tuple[Network, ...]:
    """Addresses and CIDR networks (``10.0.0.0/8, 192.0.2.7, fc00::/7``) as networks."""
    found = []
    for part in items(value):
        try:
            found.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise ValueError(f"{key} must list addresses or CIDR networks, not {part!r}") from None
    return tuple(found)
