"""A Kafka stream whose brokers cannot be reached stops with one line saying so."""

from __future__ import annotations

from pathlib import Path

import pytest

from datashark.config.usecase import read_usecase
from datashark.errors import UseCaseError
from datashark.run.context import RunContext
from datashark.run.prepare import prepare
from datashark.run.streaming import run_streaming
from tests.support.kafka_helpers import kafka_settings, usecase
from tests.support.server import free_port

pytestmark = pytest.mark.spark


def test_unreachable_brokers_stop_the_stream_with_a_clear_error(spark_context, tmp_path: Path) -> None:
    servers = f"127.0.0.1:{free_port()}"  # nothing listens there
    settings = kafka_settings(tmp_path, bootstrap_servers=servers, topics="t", group_id="g")
    prepared = [prepare(settings, read_usecase(usecase(tmp_path / "uc", "Unreachable")))]
    with pytest.raises(
        UseCaseError, match=rf"streaming stopped: Kafka at {servers} \(group g\): connecting failed"
    ):
        run_streaming(spark_context, RunContext(settings), prepared, debug=False, timeout=60)
