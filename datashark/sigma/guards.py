"""The leading tests rules share, tested once for all of them: a tree of guards.

Most rules of a Sigma collection start with the tests their pipeline adds for the log source
(``Channel = 'Microsoft-Windows-Sysmon/Operational' AND EventID = 1 AND ...``). Evaluated rule by
rule, every event pays for every rule's guard and for the rest of the rules of other log sources
too. Here rules whose conditions start with the same test are grouped under it, recursively
(Channel, then EventID), so an event is tested against a group's rules only when it passes the
group's guard: an image-load event never meets a process-creation rule.

A condition is split into its top-level ``AND`` terms (never inside quotes, backticks or
parentheses, and not at all when it holds a top-level ``OR``), so a group's guard AND a member's
remaining terms is the member's condition, in SQL's three-valued logic too: the grouping changes
what is evaluated, never what matches.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

AND, OR = " AND ", " OR "


@dataclass
class Guarded:
    """Rules under one guard: those sharing a further leading test (``groups``, by that test)
    and the others with what remains of their condition (``rules``: rule number, condition)."""

    groups: dict[str, Guarded] = field(default_factory=dict)
    rules: list[tuple[int, str]] = field(default_factory=list)


def guard_tree(conditions: list[tuple[int, str]]) -> Guarded:
    """``conditions`` (rule number, SQL condition) grouped by the leading terms they share."""
    return _grouped([(number, terms_of(condition)) for number, condition in conditions])


def _grouped(items: list[tuple[int, list[str]]]) -> Guarded:
    node = Guarded()
    shared = Counter(terms[0] for _, terms in items if len(terms) > 1)
    members: dict[str, list[tuple[int, list[str]]]] = {}
    for number, terms in items:
        if len(terms) > 1 and shared[terms[0]] > 1:
            members.setdefault(terms[0], []).append((number, terms[1:]))
        else:
            node.rules.append((number, AND.join(terms)))
    node.groups = {guard: _grouped(group) for guard, group in members.items()}
    return node


def terms_of(condition: str) -> list[str]:
    """The top-level ``AND`` terms of a SQL condition, in order; the whole condition as its
    only term when it has a top-level ``OR`` (or ``BETWEEN``, whose ``AND`` is not one)."""
    if len(_split_top_level(condition, OR)) > 1 or len(_split_top_level(condition, " BETWEEN ")) > 1:
        return [condition]
    return _split_top_level(condition, AND)


def _split_top_level(text: str, separator: str) -> list[str]:
    """``text`` split at each ``separator`` outside quotes, backticks and parentheses."""
    parts: list[str] = []
    depth, quote, start, index = 0, "", 0, 0
    while index < len(text):
        char = text[index]
        if quote:
            if char == "\\" and quote == "'":
                index += 1  # an escaped character, a quote among them
            elif char == quote:
                quote = ""
        elif char in "'`\"":
            quote = char
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif depth == 0 and text.startswith(separator, index):
            parts.append(text[start:index])
            index += len(separator)
            start = index
            continue
        index += 1
    parts.append(text[start:])
    return parts
