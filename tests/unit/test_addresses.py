"""canonical_ip: one text per address, as ipaddress writes it."""

from __future__ import annotations

import ipaddress

import pytest

from datashark.detect.addresses import canonical_ip


@pytest.mark.parametrize(
    "text, expected",
    [
        ("192.0.2.7", "192.0.2.7"),
        ("0.0.0.0", "0.0.0.0"),
        ("255.255.255.255", "255.255.255.255"),
        ("2001:DB8:0::1", "2001:db8::1"),
        ("::ffff:192.0.2.7", "::ffff:c000:207"),
        ("256.0.0.1", None),
        ("192.0.2", None),
        ("010.0.0.1", None),  # leading zeros: ipaddress refuses them (octal or decimal?)
        ("192.0.2.7 ", None),
        ("evil.example", None),
        ("", None),
    ],
)
def test_addresses_are_written_as_ipaddress_writes_them(text: str, expected: str | None) -> None:
    assert canonical_ip(text) == expected


def test_the_quick_path_agrees_with_ipaddress_on_every_dotted_form() -> None:
    for octet in ["0", "7", "09", "10", "99", "100", "199", "200", "249", "250", "255", "256", "300"]:
        text = f"10.{octet}.0.1"
        try:
            expected: str | None = ipaddress.ip_address(text).compressed
        except ValueError:
            expected = None
        assert canonical_ip(text) == expected, text
