"""The shared score scale of detections."""

from __future__ import annotations

from datashark.detect.severity import CRITICAL, HIGH, LOW, combined, grows_with, level_of


def test_levels_follow_the_bands() -> None:
    assert [level_of(s) for s in (0, 19.9, 20, 45, 60, 79.9, 80, 100)] == [
        "informational",
        "informational",
        "low",
        "medium",
        "high",
        "high",
        "critical",
        "critical",
    ]


def test_a_score_grows_with_the_logarithm_of_the_value_and_saturates() -> None:
    scale = {"threshold": 10, "saturation": 1000, "low": LOW, "high": HIGH}
    assert grows_with(9, **scale) == 0.0
    assert grows_with(10, **scale) == LOW
    assert grows_with(100, **scale) == (LOW + HIGH) / 2
    assert grows_with(1000, **scale) == grows_with(10**6, **scale) == HIGH


def test_combined_signals_add_a_bonus_each_capped_at_100() -> None:
    assert combined([]) == combined([0, 0]) == 0.0
    assert combined([HIGH]) == HIGH
    assert combined([HIGH, LOW, 0, LOW]) == HIGH + 10
    assert combined([CRITICAL, CRITICAL, CRITICAL]) == 100.0
