"""Case files of ``datashark test``: reading, strict checks, comparing findings, the report's diff,
and the streaming feed's batches."""

from __future__ import annotations

import dataclasses
import textwrap
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from configobj import ConfigObj

from datashark.errors import ConfigError
from datashark.testing import feed as feeds
from datashark.testing.cases import (
    Case,
    ExpectedFinding,
    apply_overrides,
    cases_folder,
    read_case_file,
    read_cases,
)
from datashark.testing.findings import DIFFERS, MATCHED, MISSING, UNEXPECTED, compare
from datashark.testing.report import comparison_lines, outcome_lines, summary
from datashark.testing.runner import CaseRun, Outcome


def case_file(tmp_path: Path, text: str, name: str = "cases.yml") -> Path:
    path = tmp_path / "uc" / "tests" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def error_of(tmp_path: Path, text: str) -> str:
    path = case_file(tmp_path, text)
    with pytest.raises(ConfigError) as raised:
        read_case_file(path)
    message = str(raised.value)
    assert "\n" not in message
    return message.replace(str(path), "<file>")


def test_one_case_with_every_key(tmp_path: Path) -> None:
    path = case_file(
        tmp_path,
        """
        name: brute force
        description: five failures from one address
        events: ["a b", {user: root, n: 2}]
        conf: {threshold: 3, strict: true, ratio: 0.5, training: null, log_filter: {include: {user: ro.*}}}
        batches: 2
        modes: [streaming]
        allow_unlisted: true
        expect:
          - {key: 10.0.0.1, score: 5, metadata: {users: [root, admin]}}
          - {key: 10.0.0.2, score_min: 1, score_max: 2.5}
        """,
    )
    [case] = read_case_file(path)
    assert case.name == "brute force" and case.description == "five failures from one address"
    assert case.events == ("a b", '{"user": "root", "n": 2}')
    assert case.conf == {
        "threshold": 3,
        "strict": True,
        "ratio": 0.5,
        "training": None,
        "log_filter": {"include": {"user": "ro.*"}},
    }
    assert (case.batches, case.allow_unlisted, case.file, case.modes) == (2, True, path, ("streaming",))
    assert case.expect == (
        ExpectedFinding("10.0.0.1", score=5, metadata={"users": ["root", "admin"]}),
        ExpectedFinding("10.0.0.2", score_min=1, score_max=2.5),
    )


def test_a_list_of_cases_and_expect_none(tmp_path: Path) -> None:
    path = case_file(
        tmp_path,
        """
        - name: quiet
          events: []
          expect: none
        - name: loud
          events: [x]
          expect: [{key: x}]
        """,
    )
    quiet, loud = read_case_file(path)
    assert (quiet.name, quiet.expect, quiet.events, quiet.batches) == ("quiet", (), (), 3)
    assert quiet.modes is None  # the use case's own modes
    assert (quiet.modes_of("streaming"), quiet.modes_of("batch")) == (("batch", "streaming"), ("batch",))
    assert loud.expect == (ExpectedFinding("x"),)


def test_events_file_is_relative_to_the_case_file(tmp_path: Path) -> None:
    path = case_file(tmp_path, "name: from a file\nevents_file: data/auth.log\nexpect: none\n")
    (path.parent / "data").mkdir()
    (path.parent / "data" / "auth.log").write_bytes(b"one\r\ntwo\n\nfour")
    [case] = read_case_file(path)
    assert case.events == ("one", "two", "", "four")


def test_read_cases_takes_every_file_in_name_order_and_refuses_a_name_twice(tmp_path: Path) -> None:
    case_file(tmp_path, "name: second\nevents: []\nexpect: none\n", "b.yaml")
    case_file(tmp_path, "name: first\nevents: []\nexpect: none\n", "a.yml")
    case_file(tmp_path, "not a case file", "notes.txt")
    assert [case.name for case in read_cases(tmp_path / "uc" / "uc.conf")] == ["first", "second"]
    assert read_cases(tmp_path / "other" / "other.conf") == []
    case_file(tmp_path, "name: first\nevents: []\nexpect: none\n", "c.yml")
    with pytest.raises(ConfigError, match=r"c\.yml: case 'first': key 'name': also used in .*a\.yml"):
        read_cases(tmp_path / "uc" / "uc.conf")


def test_two_confs_in_one_folder_each_have_their_cases_in_a_folder_of_their_own(tmp_path: Path) -> None:
    folder = tmp_path / "scan"
    (folder / "tests" / "scan-zeek").mkdir(parents=True)
    for name in ("scan.conf", "scan-zeek.conf"):
        (folder / name).write_text("")
    (folder / "tests" / "scan-zeek" / "a.yml").write_text("name: zeek\nevents: []\nexpect: none\n")
    (folder / "tests" / "a.yml").write_text("name: shared\nevents: []\nexpect: none\n")
    assert cases_folder(folder / "scan-zeek.conf") == folder / "tests" / "scan-zeek"
    assert [case.name for case in read_cases(folder / "scan-zeek.conf")] == ["zeek"]
    assert read_cases(folder / "scan.conf") == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name: [x\n", "<file>: cannot be parsed: line 2: expected ',' or ']', but got '<stream end>'"),
        ("", "<file>: must hold a case (a mapping) or a list of cases"),
        ("- just text\n", "<file>: case #1: must be a mapping of keys"),
        ("events: []\nexpect: none\n", "<file>: case #1: key 'name': is required: a non-empty text"),
        (
            "name: x\nevents: []\nexpect: none\nexpected: none\n",
            "<file>: case 'x': unknown key 'expected' (did you mean 'expect'?) (known: name, description, ",
        ),
        (
            "name: x\nexpect: none\n",
            "<file>: case 'x': needs either 'events' (a list of lines) or 'events_file'",
        ),
        (
            "name: x\nevents: []\nevents_file: a.log\nexpect: none\n",
            "<file>: case 'x': needs either 'events' (a list of lines) or 'events_file'",
        ),
        (
            "name: x\nevents: one line\nexpect: none\n",
            "<file>: case 'x': key 'events': must be a list of lines, not text",
        ),
        (
            "name: x\nevents: [1]\nexpect: none\n",
            "<file>: case 'x': key 'events': event 1 must be a line of text",
        ),
        (
            'name: x\nevents: ["a\\nb"]\nexpect: none\n',
            "<file>: case 'x': key 'events': event 1 holds a line break: give one line per event",
        ),
        ("name: x\nevents_file: gone.log\nexpect: none\n", "<file>: case 'x': key 'events_file': "),
        (
            "name: x\nevents: []\n",
            "<file>: case 'x': key 'expect': must be a list of findings, or 'none', not nothing",
        ),
        (
            "name: x\nevents: []\nexpect: []\n",
            "<file>: case 'x': key 'expect': must be a list of findings, or 'none'",
        ),
        (
            "name: x\nevents: []\nexpect: None\n",
            "<file>: case 'x': key 'expect': must be a list of findings, or 'none'",
        ),
        (
            "name: x\nevents: []\nexpect: [a]\n",
            "<file>: case 'x': key 'expect': finding 1: must be a mapping with 'key'",
        ),
        (
            "name: x\nevents: []\nexpect: [{key: a, scor: 1}]\n",
            "<file>: case 'x': key 'expect': finding 1: unknown key 'scor' (did you mean 'score'?)",
        ),
        (
            "name: x\nevents: []\nexpect: [{score: 1}]\n",
            "<file>: case 'x': key 'expect': finding 1: 'key' is required",
        ),
        (
            "name: x\nevents: []\nexpect: [{key: 7}]\n",
            "<file>: case 'x': key 'expect': finding 1: 'key' is required",
        ),
        (
            "name: x\nevents: []\nexpect: [{key: a, score: '3'}]\n",
            "<file>: case 'x': key 'expect': finding 1: 'score' must be a finite number, not text",
        ),
        (
            "name: x\nevents: []\nexpect: [{key: a, score_max: true}]\n",
            "<file>: case 'x': key 'expect': finding 1: 'score_max' must be a finite number, not true/false",
        ),
        (
            "name: x\nevents: []\nexpect: [{key: a, score_min: .nan}]\n",
            "<file>: case 'x': key 'expect': finding 1: 'score_min' must be a finite number",
        ),
        (
            "name: x\nevents: []\nexpect: [{key: a, score: 1, score_min: 0}]\n",
            "<file>: case 'x': key 'expect': finding 1: give 'score' or 'score_min'/'score_max', not both",
        ),
        (
            "name: x\nevents: []\nexpect: [{key: a, score_min: 3, score_max: 2}]\n",
            "<file>: case 'x': key 'expect': finding 1: 'score_min' (3) is above 'score_max' (2)",
        ),
        (
            "name: x\nevents: []\nexpect: [{key: a, metadata: [1]}]\n",
            "<file>: case 'x': key 'expect': finding 1: 'metadata' must be a mapping of text keys",
        ),
        (
            "name: x\nevents: []\nexpect: none\nconf: 3\n",
            "<file>: case 'x': key 'conf': must be a mapping of conf keys",
        ),
        (
            "name: x\nevents: []\nexpect: none\nconf: {output: csv}\n",
            "<file>: case 'x': key 'conf': 'output' cannot be changed: the test supplies the events, input",
        ),
        (
            "name: x\nevents: []\nexpect: none\nconf: {out_csv: {path: x}}\n",
            "<file>: case 'x': key 'conf': 'out_csv' cannot be changed",
        ),
        (
            "name: x\nevents: []\nexpect: none\nconf: {users: [a, b]}\n",
            "<file>: case 'x': key 'conf': 'users' must be text, a number, true/false or null, not a list",
        ),
        (
            "name: x\nevents: []\nexpect: none\nbatches: 0\n",
            "<file>: case 'x': key 'batches': must be a whole number",
        ),
        (
            "name: x\nevents: []\nexpect: none\nmodes: streaming\n",
            "<file>: case 'x': key 'modes': must be a list of modes (batch, streaming), not text",
        ),
        (
            "name: x\nevents: []\nexpect: none\nmodes: []\n",
            "<file>: case 'x': key 'modes': must be a list of modes (batch, streaming), not an empty list",
        ),
        (
            "name: x\nevents: []\nexpect: none\nmodes: [streamin]\n",
            "<file>: case 'x': key 'modes': unknown mode 'streamin' (did you mean 'streaming'?) (known: ",
        ),
        (
            "name: x\nevents: []\nexpect: none\nmodes: [batch, batch]\n",
            "<file>: case 'x': key 'modes': names 'batch' twice",
        ),
        (
            "name: x\nevents: []\nexpect: none\nallow_unlisted: yes please\n",
            "<file>: case 'x': key 'allow_unlisted': must be true or false",
        ),
        (
            "name: x\nevents: []\nexpect: none\nallow_unlisted: true\n",
            "<file>: case 'x': key 'allow_unlisted': cannot be true with 'expect: none'",
        ),
        (
            "- {name: x, events: [], expect: none}\n- {name: x, events: [], expect: none}\n",
            "<file>: case 'x': key 'name': used by more than one case",
        ),
    ],
)
def test_a_wrong_case_file_is_one_line_naming_file_case_and_key(
    tmp_path: Path, text: str, message: str
) -> None:
    assert error_of(tmp_path, text).startswith(message)


def test_named_modes_run_batch_first_whatever_the_usecase_type(tmp_path: Path) -> None:
    path = case_file(tmp_path, "name: x\nevents: []\nexpect: none\nmodes: [streaming, batch]\n")
    [case] = read_case_file(path)
    assert case.modes == ("batch", "streaming")
    assert case.modes_of("streaming") == case.modes_of("batch") == ("batch", "streaming")
    only_streaming = dataclasses.replace(case, modes=("streaming",))
    assert only_streaming.modes_of("batch") == ("streaming",)


def test_overrides_are_written_as_a_conf_holds_them() -> None:
    conf = ConfigObj({"threshold": "5", "training": "normal.log", "log_filter": {"include": {"a": "b"}}})
    apply_overrides(
        conf, {"threshold": 2, "strict": True, "training": None, "log_filter": {"exclude": {"c": "d"}}}
    )
    assert conf.dict() == {
        "threshold": "2",
        "strict": "true",
        "log_filter": {"include": {"a": "b"}, "exclude": {"c": "d"}},
    }


def a_case(*expect: ExpectedFinding, allow_unlisted: bool = False) -> Case:
    return Case("c", Path("c.yml"), (), expect, allow_unlisted=allow_unlisted)


def test_expected_findings_match_key_score_bounds_and_a_subset_of_metadata() -> None:
    row = ("10.0.0.1", 7.5, {"users": ("root", "admin"), "count": 3, "extra": "x"})
    assert ExpectedFinding("10.0.0.1", score=7.5, metadata={"users": ["root", "admin"]}).problems(row) == []
    assert ExpectedFinding("10.0.0.1", score_min=7.5, score_max=7.5).problems(row) == []
    assert ExpectedFinding("10.0.0.1", score=7).problems(row) == ["score"]
    assert ExpectedFinding("10.0.0.1", score_min=8).problems(row) == ["score"]
    assert ExpectedFinding("10.0.0.1", score_max=7.4).problems(row) == ["score"]
    assert ExpectedFinding("10.0.0.1", metadata={"users": ["admin", "root"]}).problems(row) == [
        "metadata['users']"
    ]
    assert ExpectedFinding("10.0.0.1", metadata={"gone": None}).problems(row) == ["metadata['gone']"]
    assert ExpectedFinding("10.0.0.2").problems(row) == ["key"]
    assert ExpectedFinding("k", score=1).problems(("k", 1)) == []
    assert ExpectedFinding("k", metadata={"a": 1}).problems(("k", 1, None)) == ["metadata['a']"]


def test_each_expectation_takes_a_finding_of_its_own_whatever_their_order() -> None:
    # Greedy pairing would give the first expectation the 9.0 row and leave the second unmatched.
    rows = [("a", 9.0), ("a", 1.0)]
    comparison = compare(a_case(ExpectedFinding("a", score_min=0), ExpectedFinding("a", score_min=5)), rows)
    assert comparison.passed
    assert [line.status for line in comparison.lines] == [MATCHED, MATCHED]
    duplicate = compare(a_case(ExpectedFinding("a"), ExpectedFinding("a")), [("a", 1)])
    assert [line.status for line in duplicate.lines] == [MATCHED, MISSING]
    assert not duplicate.passed


def test_unlisted_findings_fail_unless_the_case_allows_them() -> None:
    rows = [("a", 1), ("b", 2)]
    assert not compare(a_case(ExpectedFinding("a")), rows).passed
    assert compare(a_case(ExpectedFinding("a"), allow_unlisted=True), rows).passed
    assert compare(a_case(), []).passed
    assert not compare(a_case(), [("a", 1)]).passed


def test_the_diff_shows_expected_and_found_side_by_side() -> None:
    case = a_case(
        ExpectedFinding("the", score=4),
        ExpectedFinding("program", score=3),
        ExpectedFinding("licence", score_min=1, metadata={"first": 1}),
    )
    comparison = compare(case, [("the", 4), ("program", 2), ("end", 1, {"first": 3, "last": [1, 2]})])
    assert [line.status for line in comparison.lines] == [MATCHED, DIFFERS, MISSING, UNEXPECTED]
    assert comparison_lines(comparison) == [
        "                expected                    found",
        "    ok          the  score=4                the  4",
        "    differs     program  score=3            program  2   <- score",
        "    missing     licence  score>=1  first=1  -",
        "    unexpected  -                           end  1  first=3  last=[1, 2]",
    ]


def test_wide_expectations_stand_above_their_findings() -> None:
    wide = ExpectedFinding("203.0.113.66", score_min=50, metadata={"path": "/" + "x" * 60})
    comparison = compare(a_case(wide), [("203.0.113.66", 8.3179, {"path": "/" + "x" * 60, "n": 1})])
    assert comparison_lines(comparison) == [
        f"    differs  expected  203.0.113.66  score>=50  path=/{'x' * 60}",
        f"             found     203.0.113.66  8.3179  path=/{'x' * 60}   <- score",
    ]


def test_outcome_lines_and_summary() -> None:
    run = CaseRun("wordcount", a_case(ExpectedFinding("a", score=1)), "batch")
    passed = Outcome(run, compare(run.case, [("a", 1)]))
    failed = Outcome(run, compare(run.case, [("a", 2)]), dead_letters=[("input", "too big")] * 2)
    crashed = Outcome(run, error="(uc) - Failed: ZeroDivisionError: division by zero", console="hello\n")
    assert outcome_lines(passed) == ["PASS wordcount/c (batch)"]
    assert failed.comparison is not None
    assert outcome_lines(failed) == [
        "FAIL wordcount/c (batch)",
        *comparison_lines(failed.comparison),
        "    dead letters: 2 (input: too big x2)",
    ]
    assert outcome_lines(crashed, verbose=True) == [
        "FAIL wordcount/c (batch)",
        "    error: (uc) - Failed: ZeroDivisionError: division by zero",
        "    console:",
        "      hello",
    ]
    assert summary([passed, failed, crashed]) == "1 passed, 2 failed"


def test_events_are_split_over_the_batches_in_order() -> None:
    assert feeds.split(["a", "b", "c", "d", "e"], 3) == [["a", "b"], ["c", "d"], ["e"]]
    assert feeds.split(["a"], 3) == [["a"], [], []]
    assert feeds.split([], 2) == [[], []]


def test_the_feed_flushes_windows_then_waits_for_the_batch_after(monkeypatch: pytest.MonkeyPatch) -> None:
    flushed: list[int] = []
    feed = feeds.Feed([["a"], ["b"]])
    monkeypatch.setattr(feeds, "flush_windows", lambda: flushed.append(len(feed.by_time)) or True)
    start = datetime(2026, 1, 1)
    times = [start + timedelta(seconds=second) for second in range(5)]
    assert [feed.lines(times[0]), feed.lines(times[0]), feed.lines(times[1])] == [["a"], ["a"], ["b"]]
    assert flushed == []
    assert feed.lines(times[2]) == [] and flushed == [3]
    assert feed.final_time is None
    assert feed.lines(times[3]) == [] and feed.final_time == times[3]
    feed.batch_delivered(times[2])
    assert not feed.done.is_set()
    feed.batch_delivered(times[4])  # a windowed stream delivers only every slide
    assert feed.done.is_set()
    assert feed.lines(times[4]) == [] and flushed == [3]


def test_flush_windows_is_skipped_without_the_windows_module(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(feeds, "WINDOWS_MODULE", "datashark.detect.no_such_module")
    assert feeds.flush_windows() is False
