"""Reading detections' tuning keys: each bad value is an error naming its key."""

from __future__ import annotations

import ipaddress

import pytest

from datashark.detect.tuning import flag, items, networks, number


def test_flags() -> None:
    assert flag("k", "Yes") is True and flag("k", "off") is False and flag("k", True) is True
    with pytest.raises(ValueError, match=r"^ignore_loopback must be true or false, not 'maybe'$"):
        flag("ignore_loopback", "maybe")


def test_numbers() -> None:
    assert number("k", "2.5") == 2.5
    with pytest.raises(ValueError, match=r"^ports_threshold must be a number, not 'many'$"):
        number("ports_threshold", "many")
    with pytest.raises(ValueError, match=r"^late_minutes must be a number of 0 or more, not '-1'$"):
        number("late_minutes", "-1")
    with pytest.raises(ValueError, match="must be a number of 1 or more"):
        number("samples", "nan", least=1)


def test_items_of_a_quoted_value_or_of_configobj_s_list() -> None:
    assert items("a, 'b' ,, c d") == ("a", "b", "c d")
    assert items(["a", " b "]) == ("a", "b")
    assert items(None) == () and items("") == ()


def test_networks() -> None:
    assert networks("k", "10.0.0.0/8, 192.0.2.7, fc00::/7") == (
        ipaddress.ip_network("10.0.0.0/8"),
        ipaddress.ip_network("192.0.2.7/32"),
        ipaddress.ip_network("fc00::/7"),
    )
    with pytest.raises(ValueError, match=r"^ignore_sources must list addresses or CIDR networks, not 'x'$"):
        networks("ignore_sources", "10.0.0.1, x")
