"""Fixtures shared by every test folder: the repository's paths and one SparkContext."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session", autouse=True)
def spark_scratch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Spark's scratch space (block manager, shuffle files) in the session's folder, for every
    SparkContext and every script the tests start: a driver a test kills with SIGKILL cannot
    remove its own, and pytest's folder rotation does, where /tmp would keep them forever."""
    scratch = tmp_path_factory.mktemp("spark-local")
    previous = os.environ.get("SPARK_LOCAL_DIRS")
    os.environ["SPARK_LOCAL_DIRS"] = str(scratch)
    yield scratch
    if previous is None:
        del os.environ["SPARK_LOCAL_DIRS"]
    else:
        os.environ["SPARK_LOCAL_DIRS"] = previous


@pytest.fixture(scope="session")
def spark_context():
    """One local SparkContext for the whole session: Spark takes seconds to start."""
    from datashark.config.settings import load_settings
    from datashark.run.spark import start_spark

    sc = start_spark(load_settings(REPO), "local[2]", "dataShark tests")
    yield sc
    sc.stop()
