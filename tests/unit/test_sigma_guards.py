"""Rules grouped under the leading tests they share (datashark.sigma.guards): pure logic."""

from __future__ import annotations

from datashark.sigma.guards import Guarded, guard_tree, terms_of

CHANNEL = "lower(`Channel`) = lower('Microsoft-Windows-Sysmon/Operational')"
PROCESS, IMAGE_LOAD = "try_cast(`EventID` AS BIGINT) = 1", "try_cast(`EventID` AS BIGINT) = 7"


def test_terms_split_at_top_level_ands_only() -> None:
    condition = f"{CHANNEL} AND (a = 'x' AND b = 'y' OR c = 'z') AND NOT coalesce(d = 'w', false)"
    assert terms_of(condition) == [
        CHANNEL,
        "(a = 'x' AND b = 'y' OR c = 'z')",
        "NOT coalesce(d = 'w', false)",
    ]


def test_quoted_ands_are_text_not_terms() -> None:
    assert terms_of(r"a = 'x AND y' AND `b AND c` = 'it\' AND z'") == [
        "a = 'x AND y'",
        r"`b AND c` = 'it\' AND z'",
    ]


def test_a_top_level_or_keeps_the_condition_whole() -> None:
    assert terms_of("a = 1 AND b = 2 OR c = 3") == ["a = 1 AND b = 2 OR c = 3"]
    assert terms_of("a BETWEEN 1 AND 2") == ["a BETWEEN 1 AND 2"]


def test_rules_are_grouped_by_log_source_then_event_id() -> None:
    tree = guard_tree(
        [
            (0, f"{CHANNEL} AND {PROCESS} AND x = 'a'"),
            (1, f"{CHANNEL} AND {PROCESS} AND y = 'b'"),
            (2, f"{CHANNEL} AND {IMAGE_LOAD} AND z = 'c'"),
            (3, "w = 'd' OR v = 'e'"),
        ]
    )
    assert tree.rules == [(3, "w = 'd' OR v = 'e'")]
    sysmon = tree.groups[CHANNEL]
    assert sysmon.rules == [(2, f"{IMAGE_LOAD} AND z = 'c'")]
    assert sysmon.groups == {PROCESS: Guarded(rules=[(0, "x = 'a'"), (1, "y = 'b'")])}


def test_a_guard_and_a_members_rest_are_the_members_condition() -> None:
    conditions = [
        (0, f"{CHANNEL} AND {PROCESS} AND x = 'a' AND u = 'f'"),
        (1, f"{CHANNEL} AND {PROCESS}"),
        (2, f"{CHANNEL} AND {PROCESS} AND x = 'a'"),
        (3, f"{CHANNEL} AND x = 'a'"),
    ]

    def rebuilt(node: Guarded, guards: list[str]) -> dict[int, str]:
        found = {number: " AND ".join([*guards, rest]) for number, rest in node.rules}
        for guard, group in node.groups.items():
            found.update(rebuilt(group, [*guards, guard]))
        return found

    assert rebuilt(guard_tree(conditions), []) == dict(conditions)


def test_a_test_no_other_rule_starts_with_is_no_group() -> None:
    tree = guard_tree([(0, "a = 1 AND b = 2"), (1, "c = 3 AND d = 4")])
    assert tree.groups == {}
    assert tree.rules == [(0, "a = 1 AND b = 2"), (1, "c = 3 AND d = 4")]
