"""A throwaway certificate authority and a server certificate for 127.0.0.1, made with openssl.

Secured test servers (Elasticsearch over HTTPS, Kafka's SASL_SSL listener) present the server
certificate; dataShark's clients verify it against the CA, as they would in production, so
the tests exercise verification instead of switching it off. Made once per session, in the
session's folder: nothing secret is kept in the repository or the cache.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from tests.support.cache import apt_install, run_checked

DAYS = "2"
SERVER_EXTENSIONS = """\
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid, issuer
"""


@dataclass(frozen=True)
class Certificates:
    ca: Path  # the CA's certificate (PEM): what clients trust
    cert: Path  # the server's certificate (PEM), for 127.0.0.1 and localhost
    key: Path  # the server's private key (PEM, PKCS#8, unencrypted)


def provision() -> None:
    """openssl makes the certificates: install it where it is missing."""
    if shutil.which("openssl") is None:
        apt_install("openssl")


def make_certificates(folder: Path) -> Certificates:
    """A new CA and a server certificate it signed, in ``folder`` (created)."""
    provision()
    folder.mkdir(parents=True, exist_ok=True)
    ca, ca_key = folder / "ca.pem", folder / "ca.key"
    cert, key = folder / "server.pem", folder / "server.key"
    extensions = folder / "server.ext"
    extensions.write_text(SERVER_EXTENSIONS)
    run_checked(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            DAYS,
            "-subj",
            "/CN=dataShark test CA",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
            "-keyout",
            str(ca_key),
            "-out",
            str(ca),
        ],
        what="making the test CA",
    )
    _signed(ca, ca_key, "/CN=127.0.0.1", extensions, key, cert, what="the server certificate")
    key.chmod(0o644)  # a server running as another user (Elasticsearch) must read it
    return Certificates(ca=ca, cert=cert, key=key)


CLIENT_EXTENSIONS = """\
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid, issuer
"""


@dataclass(frozen=True)
class ClientCertificate:
    cert: Path  # the client's certificate (PEM), signed by the session CA
    key: Path  # its private key (PEM, PKCS#8, unencrypted)


def make_client_certificate(certificates: Certificates, name: str) -> ClientCertificate:
    """A client certificate for mutual TLS, signed by the CA ``make_certificates`` made (its key
    lies next to its certificate); ``name`` is its CN and its files' stem."""
    folder = certificates.ca.parent
    cert, key = folder / f"{name}.pem", folder / f"{name}.key"
    extensions = folder / "client.ext"
    extensions.write_text(CLIENT_EXTENSIONS)
    _signed(
        certificates.ca, folder / "ca.key", f"/CN={name}", extensions, key, cert, what="a client certificate"
    )
    return ClientCertificate(cert=cert, key=key)


def _signed(
    ca: Path, ca_key: Path, subject: str, extensions: Path, key: Path, cert: Path, *, what: str
) -> None:
    """A new key in ``key`` and its certificate in ``cert`` for ``subject``, signed by ``ca``."""
    request = cert.with_suffix(".csr")
    new_key = ("req", "-newkey", "rsa:2048", "-nodes", "-subj", subject, "-keyout", str(key))
    run_checked(["openssl", *new_key, "-out", str(request)], what=f"making the key of {what}")
    signer = ("-CA", str(ca), "-CAkey", str(ca_key), "-CAcreateserial", "-days", DAYS)
    run_checked(
        [
            "openssl",
            "x509",
            "-req",
            "-in",
            str(request),
            *signer,
            "-extfile",
            str(extensions),
            "-out",
            str(cert),
        ],
        what=f"signing {what}",
    )
