"""What asks a stream to stop, and so whether the batches queued behind are finished."""

from __future__ import annotations

import os
import signal

from datashark.run.streaming import GracefulStop


def test_a_stop_asked_by_stop_when_is_told_apart() -> None:
    stop = GracefulStop(timeout=None, stop_when=lambda: "case done")
    try:
        assert stop.reason() == "case done"
        assert stop.by_stop_when
    finally:
        stop.restore()


def test_a_signal_wins_over_stop_when_and_finishes_the_queued_batches() -> None:
    stop = GracefulStop(timeout=None, stop_when=lambda: "case done")
    try:
        os.kill(os.getpid(), signal.SIGTERM)
        assert stop.reason() == "SIGTERM received"
        assert not stop.by_stop_when
    finally:
        stop.restore()


def test_a_time_limit_is_not_a_stop_when() -> None:
    stop = GracefulStop(timeout=1e-9, stop_when=lambda: None)
    try:
        assert stop.reason() == "time limit reached"
        assert not stop.by_stop_when
    finally:
        stop.restore()


def test_nothing_to_stop_for_and_the_handlers_are_given_back() -> None:
    before = signal.getsignal(signal.SIGTERM)
    stop = GracefulStop(timeout=None, stop_when=lambda: None)
    try:
        assert stop.reason() is None
        assert not stop.by_stop_when
    finally:
        stop.restore()
    assert signal.getsignal(signal.SIGTERM) is before
