"""``[log_filter]`` for DataFrame use cases, without Spark: which patterns are plain text (and
become ``startswith``/``isin`` tests) and how the others are spelled for Java's regex engine.

``matches()`` itself, the Spark condition, is checked against ``re.match`` on real Spark in
``tests/integration/test_frames.py``.
"""

from __future__ import annotations

import re

import pytest

from datashark.frames.log_filter import _literal, _literal_alternatives, java_regex

# Texts a filter meets, chosen to sit on the edges of the patterns below.
TEXTS = [
    "",
    "tcp",
    "tcp\n",
    "tcpx",
    "TCP",
    "udp",
    "udp\n",
    "a",
    "b",
    "ab",
    "a.b",
    "axb",
    "10.0.0.1",
    "10.0.0.10",
    "1000001",
    "GET /index.html",
    "GET /index.html\n",
    "c:\\temp",
    "café",
    "x\n",
]


@pytest.mark.parametrize(
    ("part", "text"),
    [
        ("tcp", "tcp"),
        ("", ""),
        (r"10\.0\.0\.1", "10.0.0.1"),
        (r"a\-b\ c", "a-b c"),
        (r"c:\\temp", "c:\\temp"),
        (r"\(x\)\[y\]\{z\}\*\+\?\|\^\$", "(x)[y]{z}*+?|^$"),
        ("GET /index.html#top", None),  # the . is a regex
        ("GET /index", "GET /index"),
        ("user@example-host, 'quoted' \"too\" ~&%!=<>:;/", "user@example-host, 'quoted' \"too\" ~&%!=<>:;/"),
        ("café", "café"),
    ],
)
def test_plain_text_is_the_text_it_matches(part: str, text: str | None) -> None:
    assert _literal(part) == text
    if text is not None:
        assert re.fullmatch(part, text), "the text is what Python's regex reads"


@pytest.mark.parametrize(
    "part",
    [
        "a.b",
        "a*",
        "a+",
        "a?",
        "a{2}",
        "^a",
        "a$",
        "(a)",
        "[ab]",
        "a|b",
        r"\d",
        r"\w+",
        r"\s",
        r"\b",
        r"\n",  # a newline to Python: not a letter n
        r"\t",
        r"\x41",
        r"\u00e9",
        r"\A",
        r"\Z",
        "a\\",  # a trailing backslash
    ],
)
def test_anything_regex_is_not_plain_text(part: str) -> None:
    assert _literal(part) is None


@pytest.mark.parametrize(
    ("body", "grouped", "alternatives"),
    [
        ("tcp", False, ["tcp"]),
        ("tcp", True, ["tcp"]),
        ("tcp|udp", False, ["tcp", "udp"]),
        ("(tcp|udp)", False, ["tcp", "udp"]),
        ("(?:tcp|udp)", False, ["tcp", "udp"]),
        ("(tcp|udp)", True, ["tcp", "udp"]),
        ("(?:tcp|udp)", True, ["tcp", "udp"]),
        (r"10\.0\.0\.1|192\.0\.2\.1", False, ["10.0.0.1", "192.0.2.1"]),
        # tcp|udp$ is tcp, or udp at the end: not one test of the same kind for both
        ("tcp|udp", True, None),
        # a group that is not the whole pattern
        ("(a)|(b)", False, None),
        ("(a)(b)", False, None),
        ("(?:a)(?:b)", False, None),
        ("(a|b)c", False, None),
        ("((a|b))", False, None),
        # an empty alternative matches every text
        ("a|", False, None),
        ("|a", False, None),
        ("(a|)", False, None),
        ("", False, None),
        # groups of another kind
        ("(?P<proto>tcp)", False, None),
        ("(?i)tcp", False, None),
        ("(?=tcp)", False, None),
        ("(?!tcp)", False, None),
        # one regex alternative makes the whole a regex
        (r"tcp|\d+", False, None),
        ("(tcp|u.p)", False, None),
    ],
)
def test_alternatives_of_plain_text(body: str, grouped: bool, alternatives: list[str] | None) -> None:
    assert _literal_alternatives(body, grouped=grouped) == alternatives


def literal_test(pattern: str, text: str) -> bool | None:
    """What ``matches()`` decides for ``text`` without a regex, or None when it keeps ``pattern``
    a regex: its split of a final ``$``, then ``startswith`` or ``isin``."""
    whole = pattern.endswith("$") and not pattern.endswith("\\$")
    body = pattern[:-1] if whole else pattern
    alternatives = _literal_alternatives(body, grouped=whole)
    if alternatives is None:
        return None
    if whole:
        return text in [*alternatives, *(literal + "\n" for literal in alternatives)]
    return any(text.startswith(literal) for literal in alternatives)


@pytest.mark.parametrize(
    "pattern",
    [
        "tcp",
        "tcp$",
        "tc",
        "tcp|udp",
        "(tcp|udp)$",
        "(?:tcp|udp)$",
        "(tcp|udp)",
        r"10\.0\.0\.1",
        r"10\.0\.0\.1$",
        "GET /index",
        r"GET /index\.html$",
        r"c:\\temp",
        r"a\$",  # a dollar sign, not the end
        "café$",
    ],
)
def test_plain_text_patterns_keep_what_re_match_keeps(pattern: str) -> None:
    for text in TEXTS:
        decided = literal_test(pattern, text)
        assert decided is not None, f"{pattern!r} should not need a regex"
        assert decided == bool(re.match(pattern, text)), (pattern, text)


@pytest.mark.parametrize(
    "pattern",
    [
        "tcp|udp$",
        r"\d+",
        "a.b",
        "^tcp",
        "(?i)tcp",
        r"10\.0\.0\.\d+$",
        "(?P<x>a)b",
        "a|",
        "(a)|(b)$",
        "tcp\\Z",
    ],
)
def test_regex_patterns_stay_regexes(pattern: str) -> None:
    assert literal_test(pattern, "tcp") is None


@pytest.mark.parametrize(
    ("python", "java"),
    [
        (r"\d+", r"\d+"),
        (r"(?P<port>\d+)", r"(\d+)"),  # names: Java's are narrower, and never read
        (r"(?P<src_ip>x)(?P<b>y)", r"(x)(y)"),
        (r"(?P<n>a)(?P=n)", r"(a)(?:\1)"),
        (r"(x)(?P<word>\w+) (?P=word)", r"(x)(\w+) (?:\2)"),
        (r"\(?P<x>", r"\(?P<x>"),  # an escaped parenthesis: no group
        (r"tcp\Z", r"tcp\z"),
        (r"(a|b)\Z", r"(a|b)\z"),
        (r"tcp\\Z", r"tcp\\Z"),  # an escaped backslash, then the letter Z
        (r"tcp\\\Z", r"tcp\\\z"),  # an escaped backslash, then the end
        (r"\\\\\Z", r"\\\\\z"),
        (r"\Zone", r"\zone"),
        (r"(?:x)(?=y)(?!z)(?<=w)(?<!v)", r"(?:x)(?=y)(?!z)(?<=w)(?<!v)"),  # the same in both
        (r"\A\bword\b", r"\A\bword\b"),
    ],
)
def test_python_only_spellings_become_javas(python: str, java: str) -> None:
    """After the flags that give Java Python's meaning: Unicode classes, only \\n ends a line."""
    assert java_regex(python) == "(?dU)" + java


def test_translated_patterns_still_compile_in_python_as_they_were() -> None:
    """The translation leaves the Python pattern alone (LogFilter compiles the original)."""
    pattern = r"(?P<n>a)(?P=n)\Z"
    java_regex(pattern)
    assert re.match(pattern, "aa") and not re.match(pattern, "aa\n")
