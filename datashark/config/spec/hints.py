"""Hints for typos in confs: "did you mean 'output'?", and sections nothing reads.

A misspelt key or section is the commonest first-hour mistake; the error or warning that names
it should also name what the user most likely meant.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping

FILTER_SECTION = "log_filter"


def closest(word: str, choices: Iterable[str]) -> str | None:
    """The choice ``word`` most likely misspells (same letters mostly, case aside), or None."""
    by_lower = {choice.lower(): choice for choice in choices if choice != word}
    found = difflib.get_close_matches(word.lower(), list(by_lower), n=1, cutoff=0.6)
    return by_lower[found[0]] if found else None


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest choice, or ``""``."""
    match = closest(word, choices)
    return f" (did you mean '{match}'?)" if match else ""


def unused_sections(conf: Mapping, sections: Iterable[str], used: Iterable[str]) -> list[str]:
    """One warning per section of ``conf`` that looks meant for a plugin or the filter but that
    none reads: ``[csv]`` beside ``output = csv`` (meant ``[out_csv]``), ``[in_kafka]`` without
    ``input = kafka``. Other sections are the use case's own, for ``load()``: no warning."""
    used = set(used)
    warnings = []
    for name in sections:
        if name in used:
            continue
        meant = next((section for section in used if section.split("_", 1)[-1] == name), None)
        meant = meant or closest(name, used)
        if meant:
            warnings.append(f"section [{name}] is not read by anything (did you mean [{meant}]?)")
        elif name.startswith(("in_", "out_")):
            key = "input" if name.startswith("in_") else "output"
            plugin = name.split("_", 1)[1]
            warnings.append(f"section [{name}] is not read: '{key}' is not {plugin}")
    return warnings
