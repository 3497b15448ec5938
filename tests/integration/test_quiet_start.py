"""A clean run prints nothing on stderr but what asks something of the user."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.integration.conftest import run_script

pytestmark = pytest.mark.spark


def test_a_clean_run_has_no_jvm_start_up_noise(wordcount_copy: Path, tmp_path: Path) -> None:
    """The JVM's incubator-module warning and MLlib's BLAS loader lines ask nothing of anyone."""
    result = run_script("standalone.sh", str(wordcount_copy), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    expected = ["[!] running as root: "] if os.geteuid() == 0 else []
    assert [line[: len("[!] running as root: ")] for line in result.stderr.splitlines()] == expected
