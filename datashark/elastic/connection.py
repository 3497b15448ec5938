"""How dataShark reaches an Elasticsearch cluster: the connection, retries, errors, and
speaking to Elasticsearch 8 as well as 9 with the one client installed.

``Connection`` is picklable: executors open their own clients from it. A request that fails with
429, 5xx or no connection is tried again after an exponential back-off (``retrying``), for at
most ``retry_seconds``; what no retry can change fails at once: a certificate that does not
verify, credentials Elasticsearch does not accept (401), rights they lack (403).

The Python client of major 9 marks every request ``compatible-with=9``, which an Elasticsearch
8 node refuses before it checks any right (400, "Accept version must be either version 8 or
7"). ``server_major`` reads that refusal (or the version ``GET /`` reports) at start, and a
connection to a major-8 cluster marks its requests ``compatible-with=8`` instead, which 8
serves natively. Nothing else differs: the requests dataShark sends exist in both majors.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from datashark.errors import DataSharkError

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

DEFAULT_RETRY_SECONDS = 120.0  # how long one request may keep failing before its batch fails
FIRST_BACKOFF = 0.5  # seconds; doubled after each failure, up to MAX_BACKOFF
MAX_BACKOFF = 15.0
# Refusals that stay however long the batch waits: the credentials (401), their rights or a block (403).
ACCESS_DENIED = {401: "authentication failed (HTTP 401)", 403: "forbidden (HTTP 403)"}
CLIENT_MAJOR = 9  # the elasticsearch package's major: what its requests are marked compatible with
OLDEST_MAJOR = 8
# The client's JSON media types, as the client turns them into versioned ones.
MEDIA_TYPE = re.compile(r"application/(json|x-ndjson)")
# Elasticsearch 8's answer to compatible-with=9: "Accept version must be either version 8 or 7, but found 9."
REFUSED_VERSION = re.compile(r"version must be either version (\d+)")

Result = TypeVar("Result")


class ElasticsearchError(DataSharkError):
    """Elasticsearch stayed unreachable or refused a request: the batch fails."""


@dataclass(frozen=True)
class Connection:
    """How to reach the cluster; picklable, so executors open their own clients from it."""

    hosts: tuple[str, ...]
    basic_auth: tuple[str, str] | None = field(default=None, repr=False)
    api_key: str | None = field(default=None, repr=False)
    ca_certs: str | None = None
    verify_certs: bool = True
    request_timeout: float = 30.0
    retry_seconds: float = DEFAULT_RETRY_SECONDS
    major: int = CLIENT_MAJOR  # the cluster's, as ``server_major`` found it: what requests are marked

    @property
    def where(self) -> str:
        return ",".join(self.hosts)

    def client(self) -> Elasticsearch:
        """A client whose requests the cluster's major accepts; its own retries off (``retrying``)."""
        from elastic_transport.client_utils import DEFAULT
        from elasticsearch.serializer import OrjsonSerializer

        return client_class(self.major)(
            list(self.hosts),
            serializer=OrjsonSerializer(),
            basic_auth=self.basic_auth,
            api_key=self.api_key,
            ca_certs=self.ca_certs or DEFAULT,
            verify_certs=self.verify_certs,
            request_timeout=self.request_timeout,
            max_retries=0,
            retry_on_timeout=False,
        )

    def reaching(self, major: int) -> Connection:
        """This connection to a cluster of ``major``."""
        return dataclasses.replace(self, major=major)


class Backoff:
    """The waits between tries of one request: 0.5 s, doubling to ``MAX_BACKOFF``, for as long as
    the next try still starts within ``budget`` seconds of the first."""

    def __init__(self, budget: float) -> None:
        self.deadline = time.monotonic() + budget
        self.wait = FIRST_BACKOFF
        self.tries = 1
        self.started = time.monotonic()

    def again(self) -> bool:
        """Sleep before the next try and return True, or return False when the budget is spent."""
        if time.monotonic() + self.wait > self.deadline:
            return False
        time.sleep(self.wait)
        self.wait = min(self.wait * 2, MAX_BACKOFF)
        self.tries += 1
        return True

    def __str__(self) -> str:
        return f"{self.tries} tries in {time.monotonic() - self.started:.0f} s"


@functools.cache
def client_class(major: int) -> type[Elasticsearch]:
    """The client for a cluster of ``major``: the package's own, or one marking its requests
    ``compatible-with=<major>`` (every API of the client goes through ``perform_request``)."""
    from elasticsearch import Elasticsearch

    if major == CLIENT_MAJOR:
        return Elasticsearch
    versioned = f"application/vnd.elasticsearch+\\1; compatible-with={major}"

    class CompatibleElasticsearch(Elasticsearch):
        def perform_request(
            self, method: str, path: str, *, headers: Mapping[str, str] | None = None, **options: Any
        ) -> Any:
            if headers:
                headers = {name: MEDIA_TYPE.sub(versioned, value) for name, value in headers.items()}
            return super().perform_request(method, path, headers=headers, **options)

    CompatibleElasticsearch.__name__ = CompatibleElasticsearch.__qualname__ = f"Elasticsearch{major}"
    return CompatibleElasticsearch


def server_major(connection: Connection) -> Connection:
    """``connection`` marked with its cluster's major, asked with ``GET /``.

    No rights are needed: once it has authenticated the login, an Elasticsearch 8 node refuses
    the client's ``compatible-with=9`` before it checks any right, naming the versions it
    accepts; a 9 node answers with its version, or with 403/405 when the login's rights (or the
    node's modules) do not reach ``GET /`` (still 9: the mark was accepted). Raises
    ElasticsearchError for a cluster too old, unreachable or refusing the login (401), after
    the usual retries.
    """
    from elasticsearch import ApiError

    def ask() -> int:
        with connection.reaching(CLIENT_MAJOR).client() as client:
            try:
                number = str(client.info()["version"]["number"])
            except ApiError as err:
                refused = REFUSED_VERSION.search(str(err.body)) if err.status_code == 400 else None
                if refused:
                    return int(refused[1])
                if err.status_code in (403, 405):
                    return CLIENT_MAJOR
                raise
        return int(number.partition(".")[0])

    major = retrying(connection, "asking its version", ask)
    if major < OLDEST_MAJOR:
        raise ElasticsearchError(
            f"Elasticsearch at {connection.where}: major version {major} is not supported "
            f"({OLDEST_MAJOR} and {CLIENT_MAJOR} are)"
        )
    return connection.reaching(major)


def retrying(connection: Connection, what: str, call: Callable[[], Result]) -> Result:
    """``call()``, tried again while the cluster is down, busy or failing (429/5xx), for at most
    the connection's ``retry_seconds``."""
    from elasticsearch import ApiError, TransportError

    backoff = Backoff(connection.retry_seconds)
    while True:
        try:
            return call()
        except ApiError as err:
            if not is_retryable(err.status_code):
                raise ElasticsearchError(
                    f"Elasticsearch at {connection.where}: {what}: {_api_error(err)}"
                ) from err
            last = _api_error(err)
        except TransportError as err:  # no connection, timeout, TLS failure
            rejected = _rejected_certificate(err)
            if rejected:
                raise ElasticsearchError(
                    f"Elasticsearch at {connection.where}: {what}: "
                    f"TLS certificate verification failed: {rejected.verify_message}"
                ) from err
            last = f"{type(err).__name__}: {_one_line(str(err.message))}"
        if not backoff.again():
            raise ElasticsearchError(
                f"Elasticsearch at {connection.where}: {what} failed after {backoff}: {last}"
            )


def is_retryable(status: int) -> bool:
    return status == 429 or status >= 500


def _rejected_certificate(err: BaseException) -> ssl.SSLCertVerificationError | None:
    """The certificate check that failed under a transport error (the client wraps it twice), if any:
    unlike a handshake cut by a restarting node, it fails the same way on every try."""
    cause: BaseException | None = err
    while cause is not None:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return cause
        cause = cause.__cause__ or cause.__context__
    return None


def error_text(status: int, error_type: str | None, reason: str) -> str:
    """``<status> <error type>: <reason>``; for 401/403 what they mean instead of status and type."""
    reason = _one_line(reason)
    if status in ACCESS_DENIED:
        return f"{ACCESS_DENIED[status]}: {reason}"
    return f"{status} {error_type}: {reason}" if error_type else f"{status} {reason}"


def _api_error(err: Any) -> str:
    """An ApiError's status, error type and reason (see ``error_text``)."""
    body = err.body if isinstance(err.body, dict) else {}
    error = body.get("error")
    if isinstance(error, dict):
        return error_text(err.status_code, error.get("type"), str(error.get("reason")))
    return error_text(err.status_code, None, str(err.message))


def _one_line(text: str, limit: int = 300) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 3] + "..."
