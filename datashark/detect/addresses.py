"""IP addresses as detections compare them: one text per address, the one ``ipaddress`` writes.

Logs write an address in several ways (``::ffff:192.0.2.7``, ``2001:DB8::1``, ``2001:db8:0::1``);
a detection that counts per address or looks one up in a list needs one of them. Building an
``ipaddress`` object for each of a log's millions of addresses is slow, so dotted IPv4 already
in that form, most of them, is recognised by a regular expression.
"""

from __future__ import annotations

import ipaddress
import re

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
