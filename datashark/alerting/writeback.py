"""ElastAlert2's writeback indices (its state: alerts, run status, silences, errors), created
with dataShark's own client from the mappings ElastAlert2 ships.

``elastalert-create-index`` would need ``GET /`` for the server's version, which some clusters
refuse (403 without the monitor privilege; Elastic's integ-test node answers 405: no rest-root
module); dataShark learns the major its own way (``server_major``) and needs only the index
APIs. An index that exists is left as it is, so a restart keeps the silences and run status.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from datashark.alerting import AlertingError
from datashark.elastic.connection import Connection, retrying, server_major

# Index name suffix -> ElastAlert2's mapping file (es_mappings/8/<name>.json, for 8.x and later).
MAPPINGS = {
    "": "elastalert",
    "_status": "elastalert_status",
    "_silence": "silence",
    "_error": "elastalert_error",
    "_past": "past_elastalert",
}
MAPPINGS_MAJOR = "8"


def mappings_folder(venv: Path) -> Path:
    """Where the installed ElastAlert2 keeps its mappings for Elasticsearch 8 and later."""
    found = sorted(venv.glob(f"lib/python3*/site-packages/elastalert/es_mappings/{MAPPINGS_MAJOR}"))
    if not found:
        raise AlertingError(
            f"ElastAlert2's index mappings not found under {venv}: remove it to have it made again"
        )
    return found[-1]


def ensure_writeback(connection: Connection, index: str, mappings: Path) -> list[str]:
    """Create the writeback indices of ``index`` that are missing; the names of those created."""
    connection = server_major(connection)
    created = []
    with connection.client() as client:
        for suffix, mapping in MAPPINGS.items():
            name = index + suffix
            body = json.loads((mappings / f"{mapping}.json").read_text())
            if retrying(connection, f"creating index {name}", functools.partial(_create, client, name, body)):
                created.append(name)
    return created


def _create(client: Any, name: str, mappings: dict[str, Any]) -> bool:
    """Create ``name`` unless it exists (also when another run created it meanwhile)."""
    from elasticsearch import BadRequestError

    if client.indices.exists(index=name):
        return False
    try:
        client.indices.create(index=name, mappings=mappings)
    except BadRequestError as err:
        if err.error != "resource_already_exists_exception":
            raise
        return False
    return True
