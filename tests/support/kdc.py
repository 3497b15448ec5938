"""A throwaway Kerberos realm: Debian's MIT krb5kdc on a free 127.0.0.1 port, in a session folder.

The realm's database, its kdc.conf and krb5.conf (selected with KRB5_KDC_PROFILE and
KRB5_CONFIG, never /etc), the keytabs and the ticket caches are all made anew in that folder,
and the KDC runs in the foreground, stopped by PID.
"""

from __future__ import annotations

import os
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path

from tests.support.cache import apt_install, run_checked
from tests.support.server import Server, free_port, port_open

REALM = "DATASHARK.TEST"
PACKAGES = ("krb5-kdc", "krb5-admin-server", "krb5-user")
KDC_CONF = """\
[kdcdefaults]
 kdc_listen = 127.0.0.1:{port}
 kdc_tcp_listen = 127.0.0.1:{port}
[realms]
 {realm} = {{
  database_name = {folder}/principal
  key_stash_file = {folder}/stash
  acl_file = {folder}/kadm5.acl
  max_life = 4h
  supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal
 }}
[logging]
 kdc = FILE:{folder}/kdc.log
"""
# No DNS: service principals are HTTP/localhost, asked for as written.
KRB5_CONF = """\
[libdefaults]
 default_realm = {realm}
 dns_lookup_kdc = false
 dns_lookup_realm = false
 rdns = false
 dns_canonicalize_hostname = false
 udp_preference_limit = 1
[realms]
 {realm} = {{
  kdc = 127.0.0.1:{port}
 }}
[domain_realm]
 localhost = {realm}
"""


@dataclass(frozen=True)
class Realm:
    folder: Path
    krb5_conf: Path

    def env(self, **extra: str) -> dict[str, str]:
        return {
            "KRB5_CONFIG": str(self.krb5_conf),
            "KRB5_KDC_PROFILE": str(self.folder / "kdc.conf"),
            **extra,
        }

    def principal(self, name: str) -> str:
        return f"{name}@{REALM}"

    def keytab(self, *names: str) -> Path:
        """A new keytab holding ``names`` (created with random keys if they are new)."""
        keytab = self.folder / f"{'+'.join(name.replace('/', '_') for name in names)}.keytab"
        for name in names:
            self._kadmin(f"addprinc -randkey {self.principal(name)}", allowed_to_exist=True)
        self._kadmin(f"ktadd -k {keytab} {' '.join(self.principal(name) for name in names)}")
        return keytab

    def kinit(self, name: str, cache: Path) -> None:
        """A ticket for ``name`` in ``cache``, from its keytab."""
        run_checked(
            ["kinit", "-kt", str(self.keytab(name)), "-c", f"FILE:{cache}", self.principal(name)],
            what=f"kinit {name}",
            env={**os.environ, **self.env()},
        )

    def _kadmin(self, query: str, allowed_to_exist: bool = False) -> None:
        result = run_checked(
            ["kadmin.local", "-r", REALM, "-q", query],
            what=f"kadmin.local {query}",
            env={**os.environ, **self.env()},
        )
        if "already exists" in result.stderr and not allowed_to_exist:
            raise RuntimeError(f"kadmin.local {query}: {result.stderr.strip()}")


def provision() -> None:
    if not all(shutil.which(tool) for tool in ("krb5kdc", "kdb5_util", "kadmin.local", "kinit")):
        apt_install(*PACKAGES)


def start(folder: Path) -> tuple[Server, Realm]:
    """A new realm in ``folder`` and its KDC, serving once its port is open."""
    provision()
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    (folder / "kdc.conf").write_text(KDC_CONF.format(port=port, realm=REALM, folder=folder))
    (folder / "kadm5.acl").write_text("")
    krb5_conf = folder / "krb5.conf"
    krb5_conf.write_text(KRB5_CONF.format(port=port, realm=REALM))
    realm = Realm(folder, krb5_conf)
    run_checked(
        ["kdb5_util", "create", "-s", "-r", REALM, "-P", secrets.token_hex(16)],
        what="creating the test realm",
        env={**os.environ, **realm.env()},
    )
    server = Server(
        "krb5kdc", ["krb5kdc", "-n", "-r", REALM], folder / "krb5kdc.log", env=realm.env(), cwd=folder
    )
    server.wait_until(lambda: port_open(port), timeout=30, what="the KDC's port")
    return server, realm
