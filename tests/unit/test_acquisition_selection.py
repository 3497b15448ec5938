"""The ``[in_syslog]`` selectors: which syslog events a use case reads."""

from __future__ import annotations

import pickle
import re
from typing import Any

import pytest

from datashark.acquisition.selection import Selection
from datashark.errors import ConfigError, ConfLocation

WHERE = ConfLocation("/uc/uc.conf").section("in_syslog")


def selection(**keys: str) -> Selection:
    return Selection.from_conf({"program": None, "facility": None, "severity": None, **keys}, WHERE)


def event(**fields: Any) -> dict[str, Any]:
    return {
        "host": "bastion-01",
        "program": "sshd",
        "facility": "authpriv",
        "severity": "info",
        "message": "Failed password for invalid user admin from 203.0.113.7 port 52144 ssh2",
        **fields,
    }


def test_no_selector_selects_everything() -> None:
    chosen = Selection.from_conf({"program": None, "facility": None, "severity": None, "host": None}, WHERE)
    assert chosen == Selection() and chosen.selects_all
    assert chosen(event()) and chosen({}) and chosen.describe() == ""


def test_programs_are_any_of_a_comma_separated_list() -> None:
    chosen = selection(program="sshd, su,,CRON ", host=None)
    assert chosen.programs == frozenset({"sshd", "su", "CRON"})
    assert chosen(event(program="sshd")) and chosen(event(program="su")) and chosen(event(program="CRON"))
    assert not chosen(event(program="cron"))  # program names are case-sensitive
    assert not chosen(event(program="kernel")) and not chosen(event(program=None))


def test_facilities_are_case_insensitive_and_aliases_become_the_names_events_carry() -> None:
    chosen = selection(facility="AuthPriv, security", host=None)
    assert chosen.facilities == frozenset({"authpriv", "auth"})
    assert chosen(event(facility="authpriv")) and chosen(event(facility="auth"))
    assert not chosen(event(facility="kern"))


def test_an_event_without_a_facility_is_left_out_by_a_facility_selector() -> None:
    assert not selection(facility="user", host=None)(event(facility=None))


@pytest.mark.parametrize(
    ("severity", "kept"),
    [
        ("emerg", True),
        ("alert", True),
        ("crit", True),
        ("err", True),
        ("warning", True),
        ("notice", False),
        ("info", False),
        ("debug", False),
        (None, False),
    ],
)
def test_severity_warning_keeps_warning_or_worse(severity: str | None, kept: bool) -> None:
    assert selection(severity="warning", host=None)(event(severity=severity)) is kept


@pytest.mark.parametrize(("written", "code"), [("WARN", 4), (" err ", 3), ("panic", 0), ("debug", 7)])
def test_severity_names_and_aliases(written: str, code: int) -> None:
    assert selection(severity=written, host=None).max_severity == code


def test_host_is_a_regex_the_whole_name_matches() -> None:
    chosen = selection(host=r"web-\d+", program=None)
    assert chosen(event(host="web-12"))
    assert not chosen(event(host="web-12.example.org"))  # a search would take it
    assert not chosen(event(host="old-web-12"))
    assert not chosen(event(host=None))


def test_every_selector_must_agree() -> None:
    chosen = selection(program="sshd", facility="authpriv", severity="notice", host="bastion-.*")
    assert chosen(event(severity="notice"))
    assert not chosen(event(severity="info"))
    assert not chosen(event(host="web-1"))
    assert not chosen(event(facility="auth"))


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        (
            {"facility": "auth, bogus, nope"},
            "/uc/uc.conf: [in_syslog], key 'facility': unknown facility bogus, nope (one of kern, user,",
        ),
        (
            {"severity": "loud"},
            "/uc/uc.conf: [in_syslog], key 'severity': unknown severity 'loud' (one of emerg, panic,",
        ),
        ({"severity": "4"}, "[in_syslog], key 'severity': unknown severity '4'"),
        (
            {"host": "web-(\\d+"},
            "/uc/uc.conf: [in_syslog], key 'host': invalid regex: missing ), unterminated subpattern",
        ),
    ],
    ids=["facility", "severity", "severity-number", "host"],
)
def test_bad_selectors_name_the_key(keys: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        selection(**{"host": None, **keys})
    assert message in str(raised.value)


def test_describe_lists_the_selectors_set() -> None:
    chosen = selection(program="su, sshd", facility="security, authpriv", severity="warn", host=r"web-\d+")
    assert chosen.describe() == (
        r"program sshd, su; facility auth, authpriv; severity warning or worse; host ~ web-\d+"
    )
    assert selection(severity="panic", host=None).describe() == "severity emerg or worse"


def test_a_selection_pickles_for_the_executors() -> None:
    chosen = selection(program="sshd", facility="authpriv", severity="err", host=r"web-\d+")
    copy = pickle.loads(pickle.dumps(chosen))
    assert copy == chosen and copy.host == re.compile(r"web-\d+")
    assert copy(event(host="web-3", severity="crit")) and not copy(event(host="web-3"))
