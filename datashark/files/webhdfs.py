"""Reaching a NameNode's WebHDFS: over HTTP or verified HTTPS, with simple or Kerberos (SPNEGO) login.

Staging (``hdfs.*`` in datashark.conf) and the CSV output's HDFS files (``[out_csv]``) both build
their ``hdfs`` package client here, so certificate checks, logins and their errors are the same.
"""

from __future__ import annotations

import functools
import getpass
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path
from typing import TYPE_CHECKING

from datashark.errors import ConfLocation, UseCaseError

if TYPE_CHECKING:
    from hdfs import Client

WEBHDFS_TIMEOUT = 60.0  # seconds without an answer from the NameNode or a DataNode
SCHEMES = ("http", "https")
AUTHS = ("simple", "kerberos")


@dataclass(frozen=True)
class WebHdfs:
    """One WebHDFS address and how to talk to it; picklable, and holds no secret.

    A Kerberos login uses the ticket cache (``kinit``, or ``KRB5CCNAME``), never a password.
    ``ca_key`` and ``auth_key`` name the conf keys behind ``ca_file`` and ``auth`` in errors.
    """

    url: str  # http://host:port or https://host:port
    user: str  # who simple authentication claims to be; with Kerberos the ticket says who
    auth: str = "simple"
    ca_file: str | None = None  # CA certificates (PEM) for HTTPS; None: the system's CAs
    ca_key: str = "ca_file"
    auth_key: str = "auth"

    @property
    def who(self) -> str:
        return "the Kerberos ticket's principal" if self.auth == "kerberos" else self.user

    def client(self) -> Client:
        """An ``hdfs`` package client: ``InsecureClient`` (``user.name``) or ``KerberosClient``."""
        session = _session_type()(self.ca_file)
        if self.auth == "kerberos":
            from hdfs.ext.kerberos import KerberosClient

            return KerberosClient(self.url, timeout=WEBHDFS_TIMEOUT, session=session)
        from hdfs import InsecureClient

        return InsecureClient(self.url, user=self.user, timeout=WEBHDFS_TIMEOUT, session=session)


@functools.cache
def _session_type() -> type:
    """``requests.Session`` whose CA file is used for every request (imported when first needed).

    requests lets ``REQUESTS_CA_BUNDLE`` / ``CURL_CA_BUNDLE`` override a session's own ``verify``,
    so a configured CA file would silently give way to the environment's; verification itself
    is never turned off.
    """
    import requests

    class CaFileSession(requests.Session):
        def __init__(self, ca_file: str | None) -> None:
            super().__init__()
            self.ca_file = ca_file

        def merge_environment_settings(self, url, proxies, stream, verify, cert):
            settings = super().merge_environment_settings(url, proxies, stream, verify, cert)
            if self.ca_file is not None:
                settings["verify"] = self.ca_file
            return settings

    return CaFileSession


def webhdfs(
    host: str,
    port: int,
    *,
    scheme: str,
    user: str | None,
    auth: str,
    ca_file: str | None,
    where: ConfLocation,
    keys: tuple[str, str, str, str],
) -> WebHdfs:
    """The checked connection; ``keys`` names the scheme (as it reads when plain HTTP), the CA
    file, the auth and the user keys.

    Errors (one line, naming ``where``): a CA file with plain HTTP or that is not a readable
    file, Kerberos without the ``requests-kerberos`` package or with a user name.
    """
    scheme_key, ca_key, auth_key, user_key = keys
    if ca_file is not None:
        if scheme != "https":
            raise where.error(f"{ca_key} is set, but WebHDFS is plain HTTP ({scheme_key})")
        if not os.access(ca_file, os.R_OK) or not Path(ca_file).is_file():
            raise where.error(f"{ca_key}: {ca_file} is not a readable file")
    if auth == "kerberos" and find_spec("requests_kerberos") is None:
        raise where.error(
            f"{auth_key} = kerberos needs the requests-kerberos package: pip install 'datashark[kerberos]'"
        )
    if auth == "kerberos" and user is not None:
        raise where.error(f"{user_key} is set, but with {auth_key} = kerberos the ticket names the user")
    host = f"[{host}]" if ":" in host else host
    return WebHdfs(
        f"{scheme}://{host}:{port}",
        hdfs_user(user),
        auth,
        str(Path(ca_file).resolve()) if ca_file else None,
        ca_key,
        auth_key,
    )


def hdfs_user(configured: str | None) -> str:
    """Who HDFS's simple authentication sees: as configured, else as Hadoop's own tools would."""
    return configured or os.environ.get("HADOOP_USER_NAME") or getpass.getuser()


@contextmanager
def webhdfs_errors(what: str, connection: WebHdfs, error: type[Exception] = UseCaseError) -> Iterator[None]:
    """HDFS and network errors as one line naming ``what`` failed; other errors pass through."""
    import requests
    from hdfs.util import HdfsError

    try:
        yield
    except HdfsError as err:
        message = _first_line(str(err))
        if connection.auth == "kerberos" and message.startswith("Authentication failure"):
            message = (
                f"Kerberos login to WebHDFS at {connection.url} refused; "
                "is there a valid ticket (kinit, KRB5CCNAME)?"
            )
        raise error(f"{what}: {message}") from err
    except requests.exceptions.SSLError as err:
        reason = re.search(r"certificate verify failed: [^(')\"]+", str(err))
        detail = reason.group(0).strip() if reason else _first_line(str(err.args[0] if err.args else err))
        trusted = f"the CAs in {connection.ca_file}" if connection.ca_file else "the system's CAs"
        raise error(
            f"{what}: WebHDFS at {connection.url}: TLS failed ({detail}); "
            f"its certificate must be signed by {trusted} ({connection.ca_key})"
        ) from err
    except requests.RequestException as err:
        if type(err).__module__.startswith("requests_kerberos"):
            raise error(
                f"{what}: Kerberos login to WebHDFS at {connection.url} failed "
                f"({type(err).__name__}: {_first_line(str(err))}); is there a ticket (kinit, KRB5CCNAME)?"
            ) from err
        reason = re.search(r"\[Errno -?\d+\] [^'\")]+", str(err))
        raise error(
            f"{what}: WebHDFS at {connection.url} unreachable "
            f"({reason.group(0) if reason else type(err).__name__})"
        ) from err


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else "failed"
