"""Fixtures shared by every test folder: the repository's paths and one SparkContext."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def spark_context():
    """One local SparkContext for the whole session: Spark takes seconds to start."""
    from datashark.engine import start_spark
    from datashark.settings import load_settings

    sc = start_spark(load_settings(REPO), "local[2]", "dataShark tests")
    yield sc
    sc.stop()
