"""Real servers for the tests in this folder: Kafka, Elasticsearch, HDFS, rsyslog, Spark.

The fixtures come from ``tests/support/servers/`` (see its ``__init__``). Every test that
uses one is marked with that server's name, so ``pytest -m kafka`` runs exactly the Kafka tests.
"""

from __future__ import annotations

import pytest

from tests.support.servers import server_modules

SERVER_FIXTURES = {module.NAME: getattr(module, module.NAME) for module in server_modules()}
globals().update(SERVER_FIXTURES)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        for name in SERVER_FIXTURES.keys() & set(getattr(item, "fixturenames", ())):
            item.add_marker(getattr(pytest.mark, name))
