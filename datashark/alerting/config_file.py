"""ElastAlert2's ``config.yaml``, made from the connection of a use case's ``[out_elasticsearch]``:
the same hosts, certificate checks and credentials, written ``0600`` into a private folder
(it holds the password or API key) and never printed.

ElastAlert2's client (elasticsearch 7.10.1 over requests) takes one scheme for all hosts
(``use_ssl``), a host and port (``es_host``/``es_port``; ``es_hosts`` for more), ``ca_certs`` and
``verify_certs``, and ``es_username``/``es_password`` or ``es_api_key`` (sent as
``Authorization: ApiKey <value>``, the encoded key dataShark's ``api_key`` holds too).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from datashark.elastic.connection import Connection
from datashark.errors import ConfigError, ConfLocation
from datashark.files.private import FILE_MODE

DEFAULT_PORTS = {"http": 80, "https": 443}  # a host URL without a port, as dataShark's client reads it
# How often each rule queries, how far back a first run looks, how long an unsent alert is retried.
RUN_EVERY = {"minutes": 1}
BUFFER_TIME = {"minutes": 15}
ALERT_TIME_LIMIT = {"days": 2}


def elastalert_config(
    connection: Connection, where: ConfLocation, rules_folder: Path, writeback_index: str
) -> dict[str, Any]:
    """The contents of ``config.yaml`` reaching the cluster of ``connection``."""
    hosts = [urlsplit(host) for host in connection.hosts]
    schemes = {host.scheme for host in hosts}
    if len(schemes) > 1:
        raise where.at("hosts").error(
            "mixes http and https hosts: ElastAlert2 uses one scheme for all (use https for all)"
        )
    scheme = schemes.pop()
    addresses = [(host.hostname or "", host.port or DEFAULT_PORTS[scheme]) for host in hosts]
    config: dict[str, Any] = {
        "rules_folder": str(rules_folder),
        "scan_subdirectories": True,
        "run_every": RUN_EVERY,
        "buffer_time": BUFFER_TIME,
        "alert_time_limit": ALERT_TIME_LIMIT,
        "writeback_index": writeback_index,
        "es_host": addresses[0][0],
        "es_port": addresses[0][1],
        "use_ssl": scheme == "https",
        "verify_certs": connection.verify_certs,
        "es_conn_timeout": max(1, round(connection.request_timeout)),
    }
    if len(addresses) > 1:
        config["es_hosts"] = [f"{host}:{port}" for host, port in addresses]
    if connection.ca_certs:
        config["ca_certs"] = connection.ca_certs
    if connection.basic_auth:
        config["es_username"], config["es_password"] = connection.basic_auth
    if connection.api_key:
        config["es_api_key"] = connection.api_key
    return config


def write_private(path: Path, text: str) -> None:
    """``text`` into ``path``, readable by this user only (``0600`` whatever the umask)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, FILE_MODE)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        os.fchmod(file.fileno(), FILE_MODE)
        file.write(text)


def write_config(path: Path, config: dict[str, Any]) -> None:
    """``config`` as ElastAlert2's YAML config file, private (it holds credentials)."""
    if path.parent.stat().st_mode & 0o077:
        raise ConfigError(f"{path.parent}: others may read it: ElastAlert2's config goes in a private folder")
    write_private(path, yaml.safe_dump(config, sort_keys=False))
