"""Work done beside rsyslogd: at most every few seconds, never twice at once."""

from __future__ import annotations

import threading
import time

from datashark.acquisition.background import Every


def test_a_poke_runs_the_work_once_until_its_seconds_have_passed() -> None:
    runs: list[float] = []
    every = Every("count", 1.0, lambda: runs.append(time.monotonic()))
    every.poke()
    every.wait(5)
    every.poke()  # too soon
    every.wait(5)
    assert len(runs) == 1
    time.sleep(1.05)
    every.poke()
    every.wait(5)
    assert len(runs) == 2


def test_a_poke_while_the_work_runs_does_not_start_it_again() -> None:
    release = threading.Event()
    runs: list[int] = []

    def slow() -> None:
        runs.append(1)
        release.wait(5)

    every = Every("slow", 0.0, slow)
    every.poke()
    every.poke()
    release.set()
    every.wait(5)
    assert runs == [1]


def test_wait_gives_up_after_its_seconds_and_the_work_goes_on() -> None:
    release = threading.Event()
    done = threading.Event()

    def slow() -> None:
        release.wait(5)
        done.set()

    every = Every("slow", 30.0, slow)
    every.poke()
    started = time.monotonic()
    every.wait(0.2)
    assert time.monotonic() - started < 2
    assert not done.is_set()
    release.set()
    every.wait(5)
    assert done.is_set()


def test_wait_before_any_poke_returns_at_once() -> None:
    Every("idle", 1.0, lambda: None).wait(5)
