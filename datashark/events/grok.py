"""Grok: regular expressions built from named patterns, as Logstash's grok filter writes them.

``%{IP:client} %{WORD}`` is compiled, on the driver, into one Python regex: ``%{NAME}`` matches
the pattern NAME without keeping it, ``%{NAME:field}`` keeps it as ``field``, and
``%{NAME:field:int}`` (or ``:float``) converts it. Patterns refer to patterns, recursively; a
cycle or an unknown name is a one-line ConfigError naming it. Inline named groups, Python's
``(?P<field>...)`` or Logstash's ``(?<field>...)``, are fields too.

Field names are those of Logstash: ``[source][ip]`` makes a nested ``{"source": {"ip": ...}}``,
``source.ip`` is one key with a dot in it. The regex's groups get valid Python names, and the
events get the field names back. A field whose group matched nothing is None, as in ``format =
regex`` (Logstash leaves it out; dropping it would cost a third of the parsing time); a field
captured twice (``%{IP:host}|%{HOSTNAME:host}``) keeps the value that matched.

The pattern library is ``grok_patterns/*.grok`` (shipped, see its README.md) plus the ``*.grok``
files of a use case's ``grok_patterns_dir``, whose definitions win over the shipped ones.
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from datashark.errors import ConfigError, ConfLocation

PATTERN_NAME = re.compile(r"[A-Za-z0-9_]+")
# One token of a grok expression: an escape (kept as it is), a %{NAME[:field[:type]]}, or the
# opening of a named group, (?P<name> or (?<name> (not the lookbehinds (?<= and (?<!).
_TOKEN = re.compile(
    r"\\."
    r"|%\{(?P<ref>[^}:]*)(?::(?P<field>[^}:]*))?(?::(?P<type>[^}]*))?\}"
    r"|\(\?P?<(?![=!])(?P<group>[^>]*)>",
    re.S,
)
_BRACKETED = re.compile(r"(?:\[[^\[\]]+\])+")
CONVERSIONS = ("int", "float")
MAX_REGEX_CHARS = 1 << 20  # of a pattern once expanded: a bound on patterns that multiply


@dataclass(frozen=True)
class Definition:
    """One named pattern and the file that defines it (for error messages)."""

    regex: str
    source: str


Library = Mapping[str, Definition]


@dataclass(frozen=True)
class Field:
    """One captured field: the regex group it comes from, where it goes, and its conversion."""

    group: str
    path: tuple[str, ...]  # ("source", "ip") for [source][ip]; ("source.ip",) for source.ip
    convert: str | None  # "int", "float" or None


class Grok:
    """A compiled grok expression; picklable (the regex compiles again where it is unpickled).

    ``match(text)`` is the dict of fields of ``text`` (anchored at its start, as ``re.match``)
    or None; a field whose group matched nothing is None. Values that ``:int``/``:float``
    cannot convert raise ValueError.
    """

    def __init__(self, expression: str, regex: str, fields: tuple[Field, ...]) -> None:
        self.expression = expression
        self.regex = re.compile(regex)
        self.fields = fields
        # The common case, plain field names and no conversions, is the regex's own groupdict.
        self._plain = all(f.path == (f.group,) and f.convert is None for f in fields)

    @property
    def field_names(self) -> frozenset[str]:
        """The top-level keys an event can get: ``source`` for ``[source][ip]``."""
        return frozenset(f.path[0] for f in self.fields)

    def match(self, text: str) -> dict[str, Any] | None:
        found = self.regex.match(text)
        if found is None:
            return None
        if self._plain:
            return found.groupdict()
        return self._event(found)

    def _event(self, found: re.Match[str]) -> dict[str, Any]:
        event: dict[str, Any] = {}
        for field in self.fields:
            text = found.group(field.group)
            value: Any = text if text is None or field.convert is None else convert(text, field)
            _put(event, field.path, value)
        return event

    def __reduce__(self):
        return (Grok, (self.expression, self.regex.pattern, self.fields))


def convert(text: str, field: Field) -> int | float:
    """``text`` as the field's ``:int`` or ``:float``; ``:int`` of ``2.5`` is 2, as in Logstash."""
    try:
        number = float(text)
        if field.convert == "float":
            return number
        try:
            return int(text)
        except ValueError:
            if not math.isfinite(number):
                raise ValueError(text) from None
            return int(number)
    except ValueError:
        name = "".join(f"[{part}]" for part in field.path) if len(field.path) > 1 else field.path[0]
        shown = text if len(text) <= 40 else text[:40] + "..."
        raise ValueError(f"field {name!r}: {shown!r} is not a number ({field.convert})") from None


def _put(event: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    """Set ``event[path[0]][path[1]]...`` to ``value`` unless it holds a value already (a field
    captured twice keeps the one that matched); a path through a value that is not a dict is skipped."""
    target = event
    for part in path[:-1]:
        inner = target.setdefault(part, {})
        if not isinstance(inner, dict):
            return
        target = inner
    if target.get(path[-1]) is None:
        target[path[-1]] = value


def field_path(name: str) -> tuple[str, ...] | None:
    """A field name as a path of keys: ``[a][b]`` -> ("a", "b"), ``a.b`` -> ("a.b",); None if empty
    or a malformed bracketed name."""
    name = name.strip()
    if not name:
        return None
    if name.startswith("["):
        if not _BRACKETED.fullmatch(name):
            return None
        return tuple(part.strip() for part in name[1:-1].split("]["))
    return (name,)


# ----------------------------------------------------------------------------- the library


def read_pattern_file(path: Path, text: str | None = None) -> dict[str, Definition]:
    """The patterns of one ``*.grok`` file; a malformed line is a ConfigError naming file and line."""
    if text is None:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            raise ConfigError(f"{path}: cannot read grok patterns: {err}") from None
    patterns: dict[str, Definition] = {}
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        name, _, regex = stripped.partition(" ")
        if not PATTERN_NAME.fullmatch(name) or not regex.strip():
            raise ConfigError(
                f"{path}: line {number}: expected 'NAME regex' (a NAME of letters, digits, _), "
                f"got {line[:60]!r}"
            )
        patterns[name] = Definition(regex.strip(), f"{path.name} line {number}")
    return patterns


@lru_cache(maxsize=1)
def core_patterns() -> dict[str, Definition]:
    """The patterns shipped in ``datashark/events/grok_patterns/*.grok``."""
    folder = resources.files("datashark.events").joinpath("grok_patterns")
    patterns: dict[str, Definition] = {}
    for entry in sorted(folder.iterdir(), key=lambda item: item.name):
        if entry.name.endswith(".grok"):
            patterns.update(read_pattern_file(Path(entry.name), entry.read_text(encoding="utf-8")))
    return patterns


def pattern_library(
    extra_dir: Path | None = None, *, where: ConfLocation | None = None
) -> dict[str, Definition]:
    """The shipped patterns, overridden by those of the ``*.grok`` files in ``extra_dir``."""
    library = dict(core_patterns())
    if extra_dir is None:
        return library
    if not extra_dir.is_dir():
        problem = f"no such folder: {extra_dir}"
        raise where.error(problem) if where else ConfigError(problem)
    for path in sorted(extra_dir.glob("*.grok")):
        library.update(read_pattern_file(path))
    return library


# ----------------------------------------------------------------------------- compiling


def compile_grok(expression: str, library: Library | None = None, *, where: ConfLocation) -> Grok:
    """``expression`` (a conf's ``grok_pattern``) compiled against ``library`` (default: the
    shipped patterns); every problem is a one-line ConfigError at ``where``."""
    compiler = _Compiler(core_patterns() if library is None else library, where)
    regex = compiler.expand(expression, ())
    if not HAS_POSSESSIVE:
        regex = without_possessive(regex)
    try:
        re.compile(regex)
    except re.error as err:
        raise where.error(f"is not a valid regex once its patterns are expanded: {err}") from None
    except RecursionError:
        raise where.error("nests groups too deeply to compile") from None
    if not compiler.fields:
        raise where.error("captures no field: name one, as in %{IP:client}")
    return Grok(expression, regex, tuple(compiler.fields))


HAS_POSSESSIVE = sys.version_info >= (3, 11)  # possessive quantifiers and atomic groups in re
_QUANTIFIER_BRACES = re.compile(r"\{\d*(?:,\d*)?\}")


def without_possessive(regex: str) -> str:
    """``regex`` with its possessive quantifiers (``a*+``) and atomic groups (``(?>...)``) made
    plain ones, for Python's re before 3.11. Where they only save backtracking, as in the shipped
    patterns, the same lines match; escapes and character classes are left as they are."""
    out: list[str] = []
    position, end = 0, len(regex)
    while position < end:
        char = regex[position]
        if char == "\\":
            out.append(regex[position : position + 2])
            position += 2
            continue
        if char == "[":
            stop = _class_end(regex, position)
            out.append(regex[position:stop])
            position = stop
            continue
        if regex.startswith("(?>", position):
            out.append("(?:")
            position += 3
            continue
        step = 1
        if char == "{":
            braces = _QUANTIFIER_BRACES.match(regex, position)
            if braces is not None:
                char, step = braces.group(0), len(braces.group(0))
        out.append(char)
        position += step
        quantifier = char in "*+?" or (char.startswith("{") and len(char) > 1)
        if quantifier and regex.startswith("+", position) and not _is_group_mark(out):
            position += 1  # the possessive mark
    return "".join(out)


def _class_end(regex: str, start: int) -> int:
    """Where the character class opening at ``start`` ends (past its ``]``)."""
    position = start + 1
    if regex.startswith("^", position):
        position += 1
    if regex.startswith("]", position):
        position += 1  # a ] first in the class is a character
    while position < len(regex):
        if regex[position] == "\\":
            position += 2
            continue
        if regex[position] == "]":
            return position + 1
        position += 1
    return len(regex)


def _is_group_mark(out: list[str]) -> bool:
    """True when the ``?`` just written opens a group's extension, as in ``(?``."""
    return out[-1] == "?" and len(out) > 1 and out[-2] == "("


class _Compiler:
    """Expands one expression: replaces every %{...} and named group, numbering the groups."""

    def __init__(self, library: Library, where: ConfLocation) -> None:
        self.library = library
        self.where = where
        self.fields: list[Field] = []
        self.groups: set[str] = set()
        self.size = 0

    def expand(self, text: str, chain: tuple[str, ...]) -> str:
        return _TOKEN.sub(lambda token: self._replace(token, chain), text)

    def _replace(self, token: re.Match[str], chain: tuple[str, ...]) -> str:
        whole = token.group(0)
        if whole.startswith("\\"):
            return whole
        if token.group("group") is not None:
            return f"(?P<{self._group(token.group('group'), None, chain)}>"
        name = token.group("ref").strip()
        if not PATTERN_NAME.fullmatch(name):
            raise self._error(f"%{{{name}}} is no pattern name (letters, digits, _)", chain)
        if name in chain:
            cycle = " -> ".join((*chain[chain.index(name) :], name))
            raise self._error(f"pattern {name} refers to itself: {cycle}", chain)
        definition = self.library.get(name)
        if definition is None:
            raise self._error(f"unknown grok pattern %{{{name}}}", chain)
        field, kind = token.group("field"), token.group("type")
        # The group is numbered before the pattern is expanded: fields keep their order in the line.
        group = self._group(field, kind, chain) if field is not None else None
        inner = self.expand(definition.regex, (*chain, name))
        self.size += len(inner)
        if self.size > MAX_REGEX_CHARS:
            raise self._error(f"expands to over {MAX_REGEX_CHARS} characters of regex", chain)
        return f"(?P<{group}>{inner})" if group else f"(?:{inner})"

    def _group(self, field: str, kind: str | None, chain: tuple[str, ...]) -> str:
        path = field_path(field)
        if path is None:
            raise self._error(f"{field!r} is no field name", chain)
        convert = kind.strip() if kind is not None else None
        if convert is not None and convert not in CONVERSIONS:
            raise self._error(f"field {field!r}: unknown type {convert!r} (int or float)", chain)
        plain = path == (field,) and field.isidentifier() and field.isascii()
        group = field if plain and field not in self.groups else self._fresh_name()
        self.groups.add(group)
        self.fields.append(Field(group, path, convert))
        return group

    def _fresh_name(self) -> str:
        number = len(self.groups)
        while f"_f{number}" in self.groups:
            number += 1
        return f"_f{number}"

    def _error(self, problem: str, chain: tuple[str, ...]) -> ConfigError:
        if chain:
            definition = self.library.get(chain[-1])
            where = f" ({definition.source})" if definition else ""
            problem = f"{problem}, in pattern {chain[-1]}{where}"
        return self.where.error(problem)
