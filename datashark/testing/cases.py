"""Test cases of a use case: ``conf/<uc>/tests/*.yml``, read and checked strictly.

A file holds one case (a mapping) or a list of them. A case names the events a run reads, the
conf keys it changes, and the findings it must produce. Every mistake is a ConfigError of one
line naming the file, the case and the key: ``<file>: case 'x': key 'expect': ...``.
See docs/writing-use-cases.md, "Testing a use case", for the format.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from datashark.config.spec.hints import did_you_mean
from datashark.config.yaml_files import read_yaml
from datashark.errors import ConfigError

CASE_SUFFIXES = (".yml", ".yaml")
TESTS_FOLDER = "tests"
CASE_KEYS = (
    "name",
    "description",
    "events",
    "events_file",
    "conf",
    "modes",
    "batches",
    "expect",
    "allow_unlisted",
)
FINDING_KEYS = ("key", "score", "score_min", "score_max", "metadata")
NO_FINDINGS = "none"
DEFAULT_BATCHES = 3
# The paths a case runs through. By default a batch use case's cases run in batch mode and a
# streaming one's in both; a case naming its modes runs in those (a batch use case's in
# streaming mode too, to prove its load() works on a stream).
MODES = ("batch", "streaming")
# Conf keys a case may not change: the test decides the events (file), the input and the output.
FIXED_KEYS = ("type", "code", "file", "input", "output")
FIXED_SECTION_PREFIXES = ("in_", "out_")


@dataclass(frozen=True)
class ExpectedFinding:
    """One finding a case expects: its key exactly, its score exactly or within bounds
    (inclusive), and at least the given metadata entries."""

    key: str
    score: float | None = None
    score_min: float | None = None
    score_max: float | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    def problems(self, row: tuple) -> list[str]:
        """What about ``row`` (a valid ``(key, score[, metadata])``) differs from this
        expectation; empty when it matches."""
        key, score = row[0], row[1]
        metadata = row[2] if len(row) == 3 and row[2] is not None else {}
        found = []
        if key != self.key:
            found.append("key")
        if self.score is not None and score != self.score:
            found.append("score")
        if self.score_min is not None and not score >= self.score_min:
            found.append("score")
        if self.score_max is not None and not score <= self.score_max:
            found.append("score")
        for name, value in self.metadata.items():
            if name not in metadata or plain(metadata[name]) != value:
                found.append(f"metadata[{name!r}]")
        return list(dict.fromkeys(found))

    def describe(self) -> str:
        """The expectation as the report shows it: ``10.0.0.1  score>=5  requests=8``."""
        parts = [self.key]
        if self.score is not None:
            parts.append(f"score={_number(self.score)}")
        if self.score_min is not None and self.score_max is not None:
            parts.append(f"score {_number(self.score_min)}..{_number(self.score_max)}")
        elif self.score_min is not None:
            parts.append(f"score>={_number(self.score_min)}")
        elif self.score_max is not None:
            parts.append(f"score<={_number(self.score_max)}")
        parts.extend(f"{name}={_json(value)}" for name, value in self.metadata.items())
        return "  ".join(parts)


@dataclass(frozen=True)
class Case:
    """One test case: events in, findings expected out."""

    name: str
    file: Path
    events: tuple[str, ...]
    expect: tuple[ExpectedFinding, ...]  # empty: ``expect: none``
    conf: dict[str, Any] = field(default_factory=dict)
    batches: int = DEFAULT_BATCHES
    allow_unlisted: bool = False
    description: str = ""
    modes: tuple[str, ...] | None = None  # the modes the case names; None: the use case's own

    def modes_of(self, usecase_type: str) -> tuple[str, ...]:
        """The modes this case runs in for a use case of ``usecase_type``: those it names, or
        by default both for a streaming use case and ``batch`` for a batch one."""
        if self.modes is not None:
            return self.modes
        return MODES if usecase_type == "streaming" else ("batch",)


def cases_folder(conf: Path) -> Path:
    """Where the cases of the use case ``conf`` live: its folder's ``tests/``, or, in a folder
    holding several confs (two variants of one detection), ``tests/<conf name without .conf>/``."""
    folder = conf.parent / TESTS_FOLDER
    return folder / conf.stem if len(list(conf.parent.glob("*.conf"))) > 1 else folder


def case_files(conf: Path) -> list[Path]:
    """The case files of the use case ``conf``, in name order."""
    folder = cases_folder(conf)
    if not folder.is_dir():
        return []
    return sorted(path for path in folder.iterdir() if path.suffix in CASE_SUFFIXES and path.is_file())


def read_cases(conf: Path) -> list[Case]:
    """Every case of the use case ``conf``; names are unique across its files."""
    cases: list[Case] = []
    seen: dict[str, Path] = {}
    for path in case_files(conf):
        for case in read_case_file(path):
            if case.name in seen:
                raise ConfigError(f"{path}: case '{case.name}': key 'name': also used in {seen[case.name]}")
            seen[case.name] = path
            cases.append(case)
    return cases


def read_case_file(path: Path) -> list[Case]:
    """The cases of one file: a mapping (one case) or a list of mappings."""
    document = read_yaml(path)
    if isinstance(document, Mapping):
        entries: list[Any] = [document]
    elif isinstance(document, list) and document:
        entries = document
    else:
        raise ConfigError(f"{path}: must hold a case (a mapping) or a list of cases")
    cases = [_case(path, entry, index) for index, entry in enumerate(entries, start=1)]
    names = [case.name for case in cases]
    for name in names:
        if names.count(name) > 1:
            raise ConfigError(f"{path}: case '{name}': key 'name': used by more than one case")
    return cases


class _Where:
    """The place of a problem in a case file, for its one-line error."""

    def __init__(self, path: Path, case: str) -> None:
        self.path = path
        self.case = case

    def error(self, problem: str, key: str | None = None) -> ConfigError:
        where = f"{self.path}: case {self.case}"
        return ConfigError(f"{where}: key '{key}': {problem}" if key else f"{where}: {problem}")


def _case(path: Path, entry: Any, index: int) -> Case:
    where = _Where(path, f"#{index}")
    if not isinstance(entry, Mapping):
        raise where.error(f"must be a mapping of keys ({', '.join(CASE_KEYS)}), not {_kind(entry)}")
    name = entry.get("name")
    if not isinstance(name, str) or not name.strip():
        raise where.error("is required: a non-empty text naming the case", "name")
    where = _Where(path, repr(name))
    _no_unknown_keys(entry, CASE_KEYS, where)
    description = entry.get("description", "")
    if not isinstance(description, str):
        raise where.error(f"must be text, not {_kind(description)}", "description")
    return Case(
        name=name,
        file=path,
        events=_events(entry, path, where),
        expect=_expectations(entry, where),
        conf=_overrides(entry.get("conf", {}), where, "conf"),
        batches=_batches(entry.get("batches", DEFAULT_BATCHES), where),
        modes=_modes(entry["modes"], where) if "modes" in entry else None,
        allow_unlisted=_allow_unlisted(entry, where),
        description=description,
    )


def _no_unknown_keys(entry: Mapping, known: tuple[str, ...], where: _Where, prefix: str = "") -> None:
    for key in entry:
        if key not in known:
            hint = did_you_mean(str(key), known)
            raise where.error(f"{prefix}unknown key '{key}'{hint} (known: {', '.join(known)})")


def _events(entry: Mapping, path: Path, where: _Where) -> tuple[str, ...]:
    if ("events" in entry) == ("events_file" in entry):
        raise where.error("needs either 'events' (a list of lines) or 'events_file' (a file of lines)")
    if "events_file" in entry:
        name = entry["events_file"]
        if not isinstance(name, str) or not name:
            raise where.error(f"must be a file name, not {_kind(name)}", "events_file")
        events_path = (path.parent / name).resolve()
        try:
            text = events_path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            problem = "is not UTF-8 text" if isinstance(err, UnicodeDecodeError) else "cannot be read"
            raise where.error(f"{events_path} {problem}", "events_file") from None
        return tuple(line.removesuffix("\r") for line in text.splitlines())
    events = entry["events"]
    if not isinstance(events, list):
        raise where.error(f"must be a list of lines, not {_kind(events)}", "events")
    lines = []
    for number, event in enumerate(events, start=1):
        if isinstance(event, Mapping):  # a JSON event written as YAML
            event = json.dumps(event, ensure_ascii=False, default=str)
        if not isinstance(event, str):
            problem = f"event {number} must be a line of text (or a mapping), not {_kind(event)}"
            raise where.error(problem, "events")
        if "\n" in event or "\r" in event:
            raise where.error(f"event {number} holds a line break: give one line per event", "events")
        lines.append(event)
    return tuple(lines)


def _expectations(entry: Mapping, where: _Where) -> tuple[ExpectedFinding, ...]:
    expect = entry.get("expect")
    if expect == NO_FINDINGS:
        return ()
    if not isinstance(expect, list) or not expect:
        got = "nothing" if expect is None else _kind(expect)
        raise where.error(f"must be a list of findings, or '{NO_FINDINGS}', not {got}", "expect")
    return tuple(_finding(item, number, where) for number, item in enumerate(expect, start=1))


def _finding(item: Any, number: int, where: _Where) -> ExpectedFinding:
    prefix = f"finding {number}: "
    if not isinstance(item, Mapping):
        raise where.error(f"{prefix}must be a mapping with 'key', not {_kind(item)}", "expect")
    _no_unknown_keys(item, FINDING_KEYS, _WhereKey(where, "expect"), prefix)
    key = item.get("key")
    if not isinstance(key, str):
        raise where.error(f"{prefix}'key' is required: the finding's key as text", "expect")
    bounds = {name: item.get(name) for name in ("score", "score_min", "score_max")}
    for name, value in bounds.items():
        if value is not None and not _is_number(value):
            raise where.error(f"{prefix}'{name}' must be a finite number, not {_kind(value)}", "expect")
    if bounds["score"] is not None and (bounds["score_min"] is not None or bounds["score_max"] is not None):
        raise where.error(f"{prefix}give 'score' or 'score_min'/'score_max', not both", "expect")
    low, high = bounds["score_min"], bounds["score_max"]
    if low is not None and high is not None and low > high:
        raise where.error(f"{prefix}'score_min' ({low}) is above 'score_max' ({high})", "expect")
    metadata = item.get("metadata", {})
    if not isinstance(metadata, Mapping) or not all(isinstance(name, str) for name in metadata):
        problem = f"{prefix}'metadata' must be a mapping of text keys, not {_kind(metadata)}"
        raise where.error(problem, "expect")
    return ExpectedFinding(key, bounds["score"], low, high, dict(metadata))


class _WhereKey(_Where):
    """A _Where whose errors all name one key (an entry of ``expect``)."""

    def __init__(self, where: _Where, key: str) -> None:
        super().__init__(where.path, where.case)
        self.key = key

    def error(self, problem: str, key: str | None = None) -> ConfigError:
        return super().error(problem, key or self.key)


def _overrides(value: Any, where: _Where, key: str, top: bool = True) -> dict[str, Any]:
    """The ``conf`` overrides: conf keys with text, numbers, true/false, null (unset), or a
    mapping for a section; the keys that set up the test's events, input and output are refused."""
    if not isinstance(value, Mapping):
        raise where.error(f"must be a mapping of conf keys, not {_kind(value)}", key)
    overrides: dict[str, Any] = {}
    for name, setting in value.items():
        if not isinstance(name, str):
            raise where.error(f"conf key {name!r} must be text", key)
        if top and (name in FIXED_KEYS or name.startswith(FIXED_SECTION_PREFIXES)):
            problem = f"'{name}' cannot be changed: the test supplies the events, input and output"
            raise where.error(problem, key)
        if isinstance(setting, Mapping):
            overrides[name] = _overrides(setting, where, key, top=False)
        elif setting is None or isinstance(setting, (str, bool)) or _is_number(setting):
            overrides[name] = setting
        else:
            problem = f"'{name}' must be text, a number, true/false or null, not {_kind(setting)}"
            raise where.error(problem, key)
    return overrides


def _batches(value: Any, where: _Where) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise where.error(f"must be a whole number of 1 or more, not {value!r}", "batches")
    return value


def _modes(value: Any, where: _Where) -> tuple[str, ...]:
    """The case's ``modes``, in the order they run (batch first)."""
    if not isinstance(value, list) or not value:
        got = "an empty list" if value == [] else _kind(value)
        raise where.error(f"must be a list of modes ({', '.join(MODES)}), not {got}", "modes")
    for mode in value:
        if mode not in MODES:
            hint = did_you_mean(mode, MODES) if isinstance(mode, str) else ""
            raise where.error(f"unknown mode {mode!r}{hint} (known: {', '.join(MODES)})", "modes")
        if value.count(mode) > 1:
            raise where.error(f"names '{mode}' twice", "modes")
    return tuple(mode for mode in MODES if mode in value)


def _allow_unlisted(entry: Mapping, where: _Where) -> bool:
    value = entry.get("allow_unlisted", False)
    if not isinstance(value, bool):
        raise where.error(f"must be true or false, not {value!r}", "allow_unlisted")
    if value and entry.get("expect") == NO_FINDINGS:
        raise where.error(f"cannot be true with 'expect: {NO_FINDINGS}'", "allow_unlisted")
    return value


def conf_text(value: Any) -> str:
    """An override as a conf file would hold it: configobj reads every value as text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def apply_overrides(section: Any, overrides: Mapping[str, Any]) -> None:
    """Write ``overrides`` into a raw (unvalidated) conf section: values as text, mappings
    merged into sub-sections, null removing the key (its default applies)."""
    for name, value in overrides.items():
        if isinstance(value, Mapping):
            if name not in section or not isinstance(section[name], Mapping):
                section[name] = {}
            apply_overrides(section[name], value)
        elif value is None:
            section.pop(name, None)
        else:
            section[name] = conf_text(value)


def plain(value: Any) -> Any:
    """Metadata as YAML compares it: tuples as lists, inside containers too."""
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    if isinstance(value, dict):
        return {name: plain(item) for name, item in value.items()}
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _number(value: float) -> str:
    return str(float(value)) if isinstance(value, float) else str(value)


def _json(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


def _kind(value: Any) -> str:
    names = {str: "text", int: "a number", float: "a number", bool: "true/false", list: "a list"}
    if value is None:
        return "nothing"
    if isinstance(value, Mapping):
        return "a mapping"
    return names.get(type(value), type(value).__name__)
