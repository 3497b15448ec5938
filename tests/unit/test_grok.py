"""Grok: patterns by name compiled into one regex, fields named as Logstash names them."""

from __future__ import annotations

import pickle
import re
import time
from pathlib import Path

import pytest

from datashark.errors import ConfigError, ConfLocation
from datashark.events.grok import (
    compile_grok,
    core_patterns,
    field_path,
    pattern_library,
    read_pattern_file,
    without_possessive,
)

WHERE = ConfLocation("/uc/uc.conf").at("grok_pattern")
ACCESS_LOG = Path(__file__).resolve().parents[2] / "conf" / "web-anomaly-detection" / "access_combined.log"
COMBINED = (
    '83.149.9.216 - - [17/May/2015:10:05:03 +0000] "GET /presentations/kibana-search.png HTTP/1.1" 200 '
    '203023 "http://semicomplete.com/presentations/" "Mozilla/5.0 (Macintosh) Chrome/32.0.1700.77"'
)
REQUIRED = [
    "IP",
    "IPV4",
    "IPV6",
    "HOSTNAME",
    "IPORHOST",
    "HOSTPORT",
    "NUMBER",
    "BASE10NUM",
    "INT",
    "POSINT",
    "NONNEGINT",
    "WORD",
    "NOTSPACE",
    "SPACE",
    "DATA",
    "GREEDYDATA",
    "QUOTEDSTRING",
    "UUID",
    "MAC",
    "PATH",
    "UNIXPATH",
    "URIPROTO",
    "URIHOST",
    "URIPATH",
    "URIPARAM",
    "URIPATHPARAM",
    "URI",
    "USERNAME",
    "USER",
    "EMAILADDRESS",
    "MONTH",
    "MONTHNUM",
    "MONTHDAY",
    "YEAR",
    "HOUR",
    "MINUTE",
    "SECOND",
    "TIME",
    "DATE_US",
    "DATE_EU",
    "ISO8601_TIMEZONE",
    "TIMESTAMP_ISO8601",
    "HTTPDATE",
    "SYSLOGTIMESTAMP",
    "PROG",
    "SYSLOGPROG",
    "SYSLOGHOST",
    "SYSLOGFACILITY",
    "SYSLOGBASE",
    "LOGLEVEL",
    "COMMONAPACHELOG",
    "COMBINEDAPACHELOG",
    "HTTPD_COMMONLOG",
    "HTTPD_COMBINEDLOG",
]


def grok(expression: str, library=None):
    return compile_grok(expression, library, where=WHERE)


def test_every_required_pattern_is_shipped_and_compiles() -> None:
    assert set(REQUIRED) <= set(core_patterns())
    for name in core_patterns():
        assert grok(f"%{{{name}:value}}").regex.pattern


def test_combined_apache_log_gives_logstash_fields() -> None:
    assert grok("%{COMBINEDAPACHELOG}").match(COMBINED) == {
        "clientip": "83.149.9.216",
        "ident": "-",
        "auth": "-",
        "timestamp": "17/May/2015:10:05:03 +0000",
        "verb": "GET",
        "request": "/presentations/kibana-search.png",
        "httpversion": "1.1",
        "rawrequest": None,
        "response": "200",
        "bytes": "203023",
        "referrer": '"http://semicomplete.com/presentations/"',
        "agent": '"Mozilla/5.0 (Macintosh) Chrome/32.0.1700.77"',
    }


def test_combined_apache_log_reads_the_sample_as_the_use_cases_regex_does() -> None:
    """Every line web-anomaly-detection's hand-written pattern reads, grok reads too, alike."""
    from configobj import ConfigObj

    conf = ConfigObj(str(ACCESS_LOG.with_name("web-anomaly-detection.conf")))
    regex = re.compile(conf["pattern"])
    combined = grok("%{COMBINEDAPACHELOG}")
    lines = ACCESS_LOG.read_text(encoding="utf-8").splitlines()
    both = 0
    for line in lines:
        by_hand, by_grok = regex.match(line), combined.match(line)
        assert (by_hand is None) == (by_grok is None), line
        if by_grok is not None:
            both += 1
            assert by_grok["clientip"] == by_hand["source"] and by_grok["timestamp"] == by_hand["time"]
            assert by_grok.get("request", by_grok.get("rawrequest")) == (
                by_hand["path"] or by_hand["request"]
            )
    assert both == len(lines) - 1  # the sample's one malformed line


def test_a_rawrequest_when_the_request_line_is_not_verb_target_version() -> None:
    line = '1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] "\\x16\\x03\\x01" 400 - "-" "-"'
    event = grok("%{COMBINEDAPACHELOG}").match(line)
    assert event is not None and event["rawrequest"] == "\\x16\\x03\\x01"
    assert event["verb"] is event["bytes"] is None  # groups that matched nothing, as format = regex


def test_syslogbase_fields() -> None:
    line = "Mar  3 10:00:01 bastion-01 sshd[48229]: Failed password for root"
    assert grok("%{SYSLOGBASE} %{GREEDYDATA:message}").match(line) == {
        "timestamp": "Mar  3 10:00:01",
        "facility": None,
        "priority": None,
        "logsource": "bastion-01",
        "program": "sshd",
        "pid": "48229",
        "message": "Failed password for root",
    }


@pytest.mark.parametrize(
    ("pattern", "text", "expected"),
    [
        ("IPV4", "192.168.0.255", "192.168.0.255"),
        ("IPV4", "256.1.1.1", None),
        ("IPV6", "fe80::1%eth0", "fe80::1%eth0"),
        ("IPV6", "2001:db8:85a3::8a2e:370:7334", "2001:db8:85a3::8a2e:370:7334"),
        ("IPV6", "::ffff:10.0.0.1", "::ffff:10.0.0.1"),
        ("IPV6", "::1", "::1"),
        ("IP", "10.0.0.1", "10.0.0.1"),
        ("IPORHOST", "web-01.example.com", "web-01.example.com"),
        ("HOSTPORT", "db.local:5432", "db.local:5432"),
        ("NUMBER", "-12.5", "-12.5"),
        ("POSINT", "0", None),
        ("UUID", "123e4567-e89b-12d3-a456-426614174000", "123e4567-e89b-12d3-a456-426614174000"),
        ("MAC", "00:1a:2B:3c:4d:5e", "00:1a:2B:3c:4d:5e"),
        ("MAC", "001a.2b3c.4d5e", "001a.2b3c.4d5e"),
        ("EMAILADDRESS", "alice@example.org", "alice@example.org"),
        ("URI", "https://bob@example.org:8443/a/b?c=d", "https://bob@example.org:8443/a/b?c=d"),
        ("PATH", "/var/log/auth.log", "/var/log/auth.log"),
        ("PATH", "C:\\Windows\\System32", "C:\\Windows\\System32"),
        ("QUOTEDSTRING", '"say \\"hi\\"" rest', '"say \\"hi\\""'),
        ("TIMESTAMP_ISO8601", "2024-03-14T06:02:08.123+01:00", "2024-03-14T06:02:08.123+01:00"),
        ("HTTPDATE", "14/Mar/2024:06:02:08 +0100", "14/Mar/2024:06:02:08 +0100"),
        ("SYSLOGTIMESTAMP", "Mar  3 10:00:01", "Mar  3 10:00:01"),
        ("DATE_US", "03/14/2024", "03/14/2024"),
        ("DATE_EU", "14.03.2024", "14.03.2024"),
        ("LOGLEVEL", "WARNING", "WARNING"),
    ],
)
def test_core_patterns_match_what_their_names_say(pattern: str, text: str, expected: str | None) -> None:
    found = grok(f"%{{{pattern}:value}}").match(text)
    assert (found or {}).get("value") == expected


def test_uri_captures_its_port_as_logstash_does() -> None:
    assert grok("%{URI:uri}").match("https://example.org:8443/a") == {
        "uri": "https://example.org:8443/a",
        "port": "8443",
    }


def test_types_convert_and_a_value_they_cannot_convert_says_which_field() -> None:
    numbers = grok("%{NUMBER:a:int} %{NUMBER:b:float} %{NUMBER:c:int}")
    assert numbers.match("42 2.5 3.9") == {"a": 42, "b": 2.5, "c": 3}
    huge = grok("%{NOTSPACE:n:int}")
    with pytest.raises(ValueError, match="field 'n': 'x1' is not a number"):
        huge.match("x1")


def test_dotted_and_bracketed_field_names() -> None:
    found = grok("%{IP:[source][ip]} %{INT:[source][port]:int} %{WORD:event.action}").match(
        "10.0.0.1 22 deny"
    )
    assert found == {"source": {"ip": "10.0.0.1", "port": 22}, "event.action": "deny"}
    assert field_path("[a][b]") == ("a", "b") and field_path("a.b") == ("a.b",)
    assert field_path("[a]b]") is None


def test_inline_named_groups_python_and_logstash_spelling() -> None:
    found = grok(r"(?<user>\w+)@(?P<domain>[\w.]+) (?<=\s)(?<![0-9])%{WORD:word}").match("bob@x.org hi")
    assert found == {"user": "bob", "domain": "x.org", "word": "hi"}


def test_a_field_captured_twice_keeps_the_value_that_matched() -> None:
    either = grok("(?:%{IPV4:host}|%{HOSTNAME:host}) %{WORD:w}(?: %{INT:n:int}| %{WORD:n})?")
    assert either.match("10.0.0.1 a") == {"host": "10.0.0.1", "w": "a", "n": None}
    assert either.match("web.example a 7") == {"host": "web.example", "w": "a", "n": 7}
    assert either.match("web.example a b") == {"host": "web.example", "w": "a", "n": "b"}


def test_a_compiled_grok_pickles() -> None:
    combined = grok("%{COMBINEDAPACHELOG}")
    assert pickle.loads(pickle.dumps(combined)).match(COMBINED) == combined.match(COMBINED)


# ----------------------------------------------------------------------------- conf errors


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


def test_a_cycle_is_one_line_naming_the_patterns(tmp_path: Path) -> None:
    write(tmp_path, "loop.grok", "A x%{B}\nB %{C}y\nC %{A}\n")
    library = pattern_library(tmp_path)
    with pytest.raises(ConfigError) as err:
        grok("%{A:a}", library)
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith("/uc/uc.conf: key 'grok_pattern': pattern A refers to itself: A -> B -> C -> A")
    assert "loop.grok line 3" in message


def test_a_pattern_refering_to_itself_directly() -> None:
    with pytest.raises(ConfigError, match="pattern SELF refers to itself: SELF -> SELF"):
        grok("%{SELF}", {**core_patterns(), **read_pattern_file(Path("x.grok"), "SELF a%{SELF}")})


@pytest.mark.parametrize(
    ("expression", "problem"),
    [
        ("%{NOPE:x}", "unknown grok pattern %{NOPE}"),
        ("%{IP:x:bool}", "unknown type 'bool' (int or float)"),
        ("%{IP}", "captures no field"),
        ("%{IP:x} (", "is not a valid regex once its patterns are expanded"),
        ("%{IP:[a]b]}", "is no field name"),
    ],
)
def test_conf_errors_name_the_key(expression: str, problem: str) -> None:
    with pytest.raises(ConfigError) as err:
        grok(expression)
    assert str(err.value).startswith("/uc/uc.conf: key 'grok_pattern'") and problem in str(err.value)


def test_patterns_that_multiply_are_refused_not_expanded(tmp_path: Path) -> None:
    lines = [f"P{n} %{{P{n + 1}}}%{{P{n + 1}}}" for n in range(40)] + ["P40 x"]
    write(tmp_path, "bomb.grok", "\n".join(lines))
    started = time.perf_counter()
    with pytest.raises(ConfigError, match="expands to over"):
        grok("%{P0:x}", pattern_library(tmp_path))
    assert time.perf_counter() - started < 2


def test_extra_patterns_override_and_extend_the_shipped_ones(tmp_path: Path) -> None:
    write(tmp_path, "site.grok", "# ours\n\nSSHUSER [a-z]+\nWORD [A-Z]+\n")
    write(tmp_path, "ignored.txt", "NOTAGROK (\n")
    library = pattern_library(tmp_path)
    assert grok("%{SSHUSER:u} %{WORD:w}", library).match("root ABC") == {"u": "root", "w": "ABC"}
    assert grok("%{WORD:w}", library).match("abc") is None


def test_a_malformed_pattern_file_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.grok", "GOOD x\nbad-name y\n")
    with pytest.raises(ConfigError, match=f"^{re.escape(str(path))}: line 2: expected 'NAME regex'"):
        pattern_library(tmp_path)


def test_a_missing_patterns_folder_names_the_key(tmp_path: Path) -> None:
    where = ConfLocation("/uc/uc.conf").at("grok_patterns_dir")
    with pytest.raises(ConfigError, match="key 'grok_patterns_dir': no such folder"):
        pattern_library(tmp_path / "nope", where=where)


# ----------------------------------------------------------------------------- hostile lines

HEAD = '1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] "'
MEGA = 1_000_000
HOSTILE = {
    "letters then !": "a" * MEGA + "!",
    "digits": "1" * MEGA,
    "spaces": " " * MEGA,
    "labels": "a." * (MEGA // 2),
    "colons": "1:" * (MEGA // 2),
    "quotes": HEAD + '" ' * (MEGA // 2),
    "escaped quotes in the referrer": HEAD + 'GET / HTTP/1.1" 200 5 "' + '\\"' * (MEGA // 2),
    "a long target": HEAD + "GET " + "a" * MEGA,
    "backslashes": HEAD + "\\" * MEGA,
    "an agent never closed": HEAD + 'GET / HTTP/1.1" 200 5 "-" "' + "a" * MEGA,
    "digits in the status": HEAD + 'GET / HTTP/1.1" ' + "2" * MEGA,
}


@pytest.mark.parametrize("name", list(HOSTILE))
@pytest.mark.parametrize("pattern", ["%{COMBINEDAPACHELOG}", "%{SYSLOGBASE} %{GREEDYDATA:message}"])
def test_composite_patterns_stay_linear_on_a_megabyte_of_near_matches(pattern: str, name: str) -> None:
    compiled = grok(pattern)
    started = time.perf_counter()
    assert compiled.match(HOSTILE[name]) is None
    assert time.perf_counter() - started < 0.5


def test_syslog_patterns_stay_linear_on_a_long_program_and_message() -> None:
    compiled = grok("%{SYSLOGBASE} %{GREEDYDATA:message}")
    for line in (
        "Mar  3 10:00:01 host " + "p" * MEGA,
        "Mar  3 10:00:01 host " + ":" * MEGA,
        "Mar  3 " * 150_000,
    ):
        started = time.perf_counter()
        compiled.match(line)
        assert time.perf_counter() - started < 0.5


# ----------------------------------------------------------------------------- Python before 3.11


@pytest.mark.parametrize(
    ("regex", "plain"),
    [
        ("a*+b++c?+d{1,2}+", "a*b+c?d{1,2}"),
        ("(?>ab)+x", "(?:ab)+x"),
        (r"[*+]++\++", r"[*+]+\++"),
        ("[]a+]++", "[]a+]+"),
        ("x}+{a}+", "x}+{a}+"),
        ("(?:a)++(?=b)", "(?:a)+(?=b)"),
    ],
)
def test_possessive_quantifiers_and_atomic_groups_made_plain(regex: str, plain: str) -> None:
    assert without_possessive(regex) == plain


def test_the_shipped_patterns_match_alike_without_possessive_quantifiers() -> None:
    """Where Python lacks them the plain regex reads the same lines into the same fields."""
    combined = grok("%{COMBINEDAPACHELOG}")
    plain = re.compile(without_possessive(combined.regex.pattern))
    lines = [*ACCESS_LOG.read_text(encoding="utf-8").splitlines()[:3000], *HOSTILE.values()]
    for line in lines:
        fast, slow = combined.regex.match(line), plain.match(line)
        assert (fast and fast.groupdict()) == (slow and slow.groupdict())
