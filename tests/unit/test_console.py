"""The console lines users and their log watchers read."""

from __future__ import annotations

import re

import pytest

from datashark import __version__, console


@pytest.mark.parametrize("mode", ["STANDALONE MODE", "PRODUCTION MODE"])
def test_banner_has_mode_and_version(mode):
    text = console.banner(mode)
    assert mode in text
    assert f"v{__version__}" in text
    assert "/_/" in text
    assert all(line == line.rstrip() for line in text.splitlines())


WRITTEN = r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} - \(Title\) - Written 7 Documents to CSV File /x$"


def test_written_line(capsys):
    console.written("Title", 7, "CSV File /x")
    out = capsys.readouterr().out
    assert re.fullmatch(WRITTEN + "\n", out, flags=re.MULTILINE)


def test_written_line_for_nothing(capsys):
    console.written("Title", 0, "CSV File /x")
    out = capsys.readouterr().out
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} - \(Title\) - No RDD Data Received\n", out)


def test_timestamp_format():
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", console.timestamp())


def test_info_and_error_lines(capsys):
    console.info("Starting")
    console.error("Broken")
    captured = capsys.readouterr()
    assert re.fullmatch(r"\[\*\] \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} Starting\n", captured.out)
    assert captured.err == "[X] Broken\n"


def test_running_as_root_says_so_in_one_line(capsys, monkeypatch):
    monkeypatch.setattr(console.os, "geteuid", lambda: 0)
    console.warn_if_root()
    monkeypatch.setattr(console.os, "geteuid", lambda: 1000)
    console.warn_if_root()
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("[!] running as root: ")


# All rows dead-lettered: not "No RDD Data Received".


def test_written_line_when_every_row_was_dead_lettered(capsys):
    console.written("Title", 0, "CSV File /x", "7 Dead Letters", rejected=7, where="/dl/uc/2026-01-01.jsonl")
    assert re.fullmatch(
        r"\S+ \S+ - \(Title\) - 0 of 7 rows written to CSV File /x: all dead-lettered \(7 Dead Letters\), "
        r"see /dl/uc/2026-01-01\.jsonl\n",
        capsys.readouterr().out,
    )
    console.written("Title", 0, "CSV File /x", "2 Dead Letters", rejected=0, where="/dl")
    assert capsys.readouterr().out.endswith(" - (Title) - No RDD Data Received (2 Dead Letters)\n")
