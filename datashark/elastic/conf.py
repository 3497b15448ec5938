"""The keys that say how to reach a cluster, shared by ``[out_elasticsearch]`` and
``[in_elasticsearch]``: ``hosts`` (or ``host``/``port`` and ``scheme``), ``username``/``password``
or ``api_key``, ``ca_certs``, ``verify_certs``, ``allow_insecure``, ``request_timeout`` and
``retry_seconds``.

Credentials cross the network only over https unless ``allow_insecure`` says otherwise, and a
host written with ``user:password@`` is refused: the password would show wherever hosts do.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from datashark.config.secrets import redact_url
from datashark.elastic.connection import Connection

if TYPE_CHECKING:
    from datashark.config.usecase import UseCase
    from datashark.errors import ConfLocation

DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 9200
CONNECTION_SPEC = (
    "host = string(min=1, default=None)",
    "port = integer(min=1, max=65535, default=None)",
    "hosts = string(min=1, default=None)",
    'scheme = option("http", "https", default="http")',
    "username = string(min=1, default=None)",
    "password = string(default=None)",
    "api_key = string(min=1, default=None)",
    "ca_certs = string(min=1, default=None)",
    "verify_certs = boolean(default=True)",
    "allow_insecure = boolean(default=False)",
    "request_timeout = float(min=1, default=30)",
    "retry_seconds = float(min=0, default=120)",
)


def connection_from(conf: dict[str, Any], where: ConfLocation, usecase: UseCase) -> Connection:
    """The connection a plugin's section describes; ConfigError naming the key at fault."""
    connection = Connection(
        hosts=_hosts(conf, where),
        basic_auth=_basic_auth(conf, where),
        api_key=conf["api_key"],
        ca_certs=_ca_certs(conf, where, usecase),
        verify_certs=conf["verify_certs"],
        request_timeout=conf["request_timeout"],
        retry_seconds=conf["retry_seconds"],
    )
    _check_transport(connection, conf, where)
    return connection


def _hosts(conf: dict[str, Any], where: ConfLocation) -> tuple[str, ...]:
    """``hosts`` entries as URLs (``host:port`` gets ``scheme``), or ``host``/``port``."""
    scheme = conf["scheme"]
    if conf["hosts"] is None:
        return (f"{scheme}://{conf['host'] or DEFAULT_HOST}:{conf['port'] or DEFAULT_PORT}",)
    if conf["host"] is not None or conf["port"] is not None:
        raise where.at("hosts").error("set either hosts or host/port, not both")
    hosts = tuple(entry.strip() for entry in conf["hosts"].split(",") if entry.strip())
    for entry in hosts:
        if "@" in entry:
            raise where.at("hosts").error(
                f"{redact_url(entry)!r} carries credentials: give them as username/password or api_key"
            )
        if not re.fullmatch(r"(https?://)?[^\s/:]+(:\d{1,5})?/?", entry):
            raise where.at("hosts").error(f"{entry!r} is neither a URL nor host:port")
    return tuple(entry if "://" in entry else f"{scheme}://{entry}" for entry in hosts)


def _basic_auth(conf: dict[str, Any], where: ConfLocation) -> tuple[str, str] | None:
    if conf["username"] is None:
        if conf["password"] is not None:
            raise where.at("password").error("needs 'username'")
        return None
    if conf["password"] is None:
        raise where.at("username").error("needs 'password'")
    if conf["api_key"] is not None:
        raise where.at("api_key").error("use either api_key or username/password")
    return (conf["username"], conf["password"])


def _check_transport(connection: Connection, conf: dict[str, Any], where: ConfLocation) -> None:
    """Credentials travel over https only, unless the conf says it knows better."""
    credentials = "username/password" if connection.basic_auth else "api_key" if connection.api_key else None
    clear = [host for host in connection.hosts if host.startswith("http://")]
    if credentials and clear and not conf["allow_insecure"]:
        raise where.at("allow_insecure").error(
            f"{credentials} would cross the network unencrypted to "
            f"{clear[0]}: use scheme = https (or https:// hosts), or set allow_insecure = true"
        )


def _ca_certs(conf: dict[str, Any], where: ConfLocation, usecase: UseCase) -> str | None:
    if conf["ca_certs"] is None:
        return None
    path = Path(usecase.resolve(conf["ca_certs"]))
    if not path.is_file():
        raise where.at("ca_certs").error(f"file not found: {path}")
    return str(path)
