"""[log_filter]: include is AND, exclude is OR, re.match semantics, bad events are non-matches."""

from __future__ import annotations

import pickle

import pytest

from datashark.errors import ConfigError, ConfLocation
from datashark.events.log_filter import LogFilter, field_text


def make(include=None, exclude=None) -> LogFilter:
    return LogFilter(include or {}, exclude or {}, where=ConfLocation("uc.conf"))


EVENT = {"proto": "tcp", "dst_port": 443, "host": "intranet.corp", "tags": ["a"], "ok": True}


@pytest.mark.parametrize(
    ("include", "exclude", "passes"),
    [
        ({}, {}, True),
        ({"proto": "tcp"}, {}, True),
        ({"proto": "udp"}, {}, False),
        ({"proto": "tc"}, {}, True),  # re.match: a prefix is enough
        ({"proto": "cp"}, {}, False),  # ... but it is anchored at the start
        ({"proto": "tcp$", "host": r".*\.corp$"}, {}, True),
        ({"proto": "tcp", "host": "internet"}, {}, False),  # every include must match
        ({}, {"host": "intranet"}, False),
        ({}, {"host": "extranet", "proto": "tcp"}, False),  # any exclude drops
        ({}, {"host": "extranet", "proto": "udp"}, True),
        ({"proto": "tcp"}, {"proto": "tcp"}, False),  # exclude wins over include
        ({"dst_port": "^443$"}, {}, True),  # numbers are matched on their text
        ({"ok": "^true$"}, {}, True),
        ({"tags": r'^\["a"\]$'}, {}, True),
    ],
)
def test_include_and_exclude(include, exclude, passes) -> None:
    assert make(include, exclude)(EVENT) is passes


def test_missing_key_fails_an_include() -> None:
    assert make({"user": ".*"})(EVENT) is False


def test_missing_key_does_not_trigger_an_exclude() -> None:
    assert make(exclude={"user": ".*"})(EVENT) is True


def test_null_value_counts_as_missing() -> None:
    assert make({"user": ".*"})({"user": None}) is False
    assert make(exclude={"user": ".*"})({"user": None}) is True


def test_non_mapping_event_passes_no_include() -> None:
    assert make({"proto": "tcp"})(["tcp"]) is False
    assert make(exclude={"proto": "tcp"})("tcp") is True


def test_empty_filter_is_falsy() -> None:
    assert not make()
    assert make({"a": "b"})


def test_invalid_regex_names_section_and_key() -> None:
    with pytest.raises(ConfigError, match=r"uc.conf: \[log_filter\]\[exclude\], key 'host': invalid regex"):
        make(exclude={"host": "(unclosed"})


def test_filter_survives_pickling_for_the_executors() -> None:
    restored = pickle.loads(pickle.dumps(make({"proto": "tcp"}, {"host": "extranet"})))
    assert restored(EVENT) is True


def test_field_text() -> None:
    assert field_text({"a": "x"}, "a") == "x"
    assert field_text({"a": 1.5}, "a") == "1.5"
    assert field_text({"a": {"b": 1}}, "a") == '{"b": 1}'
    assert field_text({}, "a") is None
