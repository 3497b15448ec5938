"""canonical_ip, address_text and in_networks: one text per address, as ipaddress writes it."""

from __future__ import annotations

import ipaddress

import pytest

from datashark.detect.addresses import address_text, canonical_ip, in_networks


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


def test_an_address_field_as_one_text() -> None:
    assert address_text(" 2001:DB8::1%eth0 ") == "2001:db8::1"
    assert address_text("192.0.2.7") == "192.0.2.7"
    assert address_text("-") is None and address_text(None) is None and address_text("") is None


def test_in_networks_of_text_or_an_address_object() -> None:
    networks = (ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("fc00::/7"))
    assert in_networks("10.1.2.3", networks) and in_networks(ipaddress.ip_address("fd00::1"), networks)
    assert not in_networks("192.0.2.7", networks)
