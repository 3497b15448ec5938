"""IP addresses as detections compare them: one text per address, the one ``ipaddress`` writes.

Logs write an address in several ways (``::ffff:192.0.2.7``, ``2001:DB8::1``, ``2001:db8:0::1``);
a detection that counts per address or looks one up in a list needs one of them. Building an
``ipaddress`` object for each of a log's millions of addresses is slow, so dotted IPv4 already
in that form, most of them, is recognised by a regular expression.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from typing import Any

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
CANONICAL_IPV4 = re.compile(rf"(?:{OCTET}\.){{3}}{OCTET}")


def canonical_ip(text: str) -> str | None:
    """``text`` as ``ipaddress`` writes the address (``192.0.2.7``, ``2001:db8::1``), or None when
    it is no address."""
    if CANONICAL_IPV4.fullmatch(text):
        return text
    try:
        return ipaddress.ip_address(text).compressed
    except ValueError:
        return None


def address_text(value: Any) -> str | None:
    """An address field of a log record (``id.orig_h``, ``SRC``) as ``canonical_ip`` writes it,
    an IPv6 zone (``%eth0``) left out; None when the field holds no address."""
    if not isinstance(value, str) or not value:
        return None
    return canonical_ip(value.strip().split("%", 1)[0])


def in_networks(address: str | Address, networks: Iterable[Network]) -> bool:
    """Whether ``address`` (text or an ``ipaddress`` object) is in one of ``networks``."""
    ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    return any(ip.version == net.version and ip in net for net in networks)
